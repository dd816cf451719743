/**
 * Scores typed at the terminal (`ppo human`) reach the API as rater cli:<name>, and
 * an unreachable API loses nothing (the labels file has them) and stops nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@ranklab/api/client";
import { apiLabelForwarder } from "@ranklab/gpu-trainer/reward-functions/api-label-forwarder";
import type { HumanLabel } from "@ranklab/gpu-trainer/reward-functions/human-reward";
import { startApiDev, type ApiDev } from "../scripts/lib/api-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { ProcessGroup } from "../scripts/lib/processes.ts";

const group = new ProcessGroup(() => {});
const home = mkdtempSync(join(tmpdir(), "ranklab-terminal-"));
let api: ApiDev;

beforeAll(async () => {
  process.env.RANKLAB_HOME = home;
  api = await startApiDev({ port: await freePort(), group });
}, 180_000);
afterAll(async () => {
  await group.stop();
  rmSync(home, { recursive: true, force: true });
});

const label = (response: string, score: number): HumanLabel => ({
  time: new Date().toISOString(),
  prompt: "这部电影很",
  response,
  score,
  typed: String(score),
  scale: "0-1",
  policy: "test",
});

describe("terminal labels to the API", () => {
  it("stores each typed score as a terminal score of rater cli:<name>", async () => {
    const forward = apiLabelForwarder({ url: api.url, token: api.tokens.ADMIN_API_TOKEN, rater: "cli:mei" });
    await forward(label("好看，演员很用心。", 0.9));
    await forward(label("无聊，剧情拖沓。", 0.1));
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const rater = await (await admin.v1.raters["by-external"][":externalId"].$get({ param: { externalId: "cli:mei" } })).json();
    const { items } = await (await admin.v1.scores.$get({ query: { raterId: String(rater.id) } })).json();
    expect(items.map((s) => [s.value, s.source]).sort()).toEqual([
      [0.1, "terminal"],
      [0.9, "terminal"],
    ]);
    const prompts = await (await admin.v1.prompts.$get({ query: {} })).json();
    expect(prompts.items.filter((p) => p.text === "这部电影很")).toHaveLength(1);
  });

  it("warns once and carries on when the API is down", async () => {
    const warnings: string[] = [];
    const forward = apiLabelForwarder({ url: "http://127.0.0.1:9", token: "x", rater: "cli:mei", warn: (l) => warnings.push(l) });
    await forward(label("a", 0.5));
    await forward(label("b", 0.5));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not send the label to http:\/\/127\.0\.0\.1:9 .*it is kept in the labels file/);
  });
});
