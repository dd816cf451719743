/**
 * The labeling page in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against the API under wrangler dev with a local D1: log in, draw a
 * prompt, reorder with the keyboard buttons and by dragging, save, and find the row
 * in the Dataset tab and in D1; the admins' Runs tab with its vega-lite charts, drawn from
 * runs and checkpoints published through the trainer's own client. Screenshots of each screen go to
 * .vitest/screenshots/web-page/ for a reader to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@ranklab/api/client";
import { publishCheckpoint } from "@ranklab/gpu-trainer/checkpoints/publish";
import { trainerApi } from "@ranklab/gpu-trainer/ranklab-api";
import { startApiDev, type ApiDev } from "../scripts/lib/api-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { REPO_ROOT } from "../scripts/lib/local-env.ts";
import { ProcessGroup } from "../scripts/lib/processes.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);
const SHOTS = join(REPO_ROOT, ".vitest", "screenshots", "web-page");
const group = new ProcessGroup(() => {});
const home = mkdtempSync(join(tmpdir(), "ranklab-web-"));
let api: ApiDev;
let browser: Browser;
let page: Page;
let token: string;
let promptId: number;
/** A rater who is not an admin (made in the Runs test), and their login token. */
let wu: { id: number; token: string };

const COMPLETIONS = ["质量很好，非常满意！", "还可以，中规中矩。", "一般般，有点失望。", "很差，再也不买了。"];

beforeAll(async () => {
  if (!CHROMIUM) throw new Error("no Chromium found: install Debian's `chromium` (apt-get install chromium) or set CHROMIUM_PATH");
  process.env.RANKLAB_HOME = home;
  api = await startApiDev({ port: await freePort(), group });
  const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
  const trainer = createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);
  const rater = await (await admin.v1.raters.$post({ json: { externalId: "web:lin", displayName: "林" } })).json();
  await admin.v1.raters[":id"].$patch({ param: { id: String(rater.id) }, json: { role: "admin" } });
  const login = await admin.v1.raters[":id"]["web-logins"].$post({ param: { id: String(rater.id) }, json: { label: "chromium test" } });
  token = (await login.json()).token;
  const { prompts } = await (await admin.v1.prompts.$post({ json: { prompts: [{ text: "这款手机用了一周，感觉" }] } })).json();
  promptId = prompts[0]!.id;
  await trainer.v1.completions.$post({ json: { completions: COMPLETIONS.map((text) => ({ promptId, text })) } });
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--lang=zh-CN"] });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 }, locale: "zh-CN" });
  // The refused logins' 401s and /app/api/task's 404 (no group left) are expected; a file's 404 (the favicon) is not.
  page.on(
    "console",
    (m) =>
      void (
        m.type() === "error" &&
        /status of 404/.test(m.text()) &&
        !m.location().url.includes("/app/api/") &&
        notFound.push(`${m.text()} ${m.location().url}`)
      ),
  );
}, 180_000);

/** 404s the admin's page logged (a missing favicon's among them, were there one). */
const notFound: string[] = [];

afterAll(async () => {
  await browser?.close();
  await group.stop();
  rmSync(home, { recursive: true, force: true });
});

const order = async () => page.locator("#completions li .text").allInnerTexts();

describe("the labeling page in Chromium", () => {
  it("logs in, draws a prompt, reorders by keyboard and drag, saves, and shows the row", async () => {
    await page.goto(`${api.url}/app`);
    // The login screen: no "Log out", and a short wrong token gets a plain answer, not a schema's text.
    await expect.poll(() => page.locator("#login").isVisible()).toBe(true);
    expect(await page.locator("#logout").isVisible()).toBe(false);
    await page.locator("#token").fill("abc");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.locator("#status").innerText()).toBe("unknown, used or revoked login token");
    // The API token from secrets.env is explained, not just refused.
    await page.locator("#token").fill(api.tokens.ADMIN_API_TOKEN);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.locator("#status").innerText()).toMatch(/^that is an API bearer token .* npm start prints a login link/);
    await page.locator("#token").fill(token);
    await page.screenshot({ path: join(SHOTS, "1-login.png") });
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.locator("#who").innerText()).toContain("林");
    await expect.poll(() => page.locator("#logout").isVisible()).toBe(true);

    await page.getByRole("button", { name: /Random prompt/ }).click();
    await expect.poll(() => page.locator("#completions li").count()).toBe(4);
    expect(await page.locator("#prompt").innerText()).toBe("这款手机用了一周，感觉");
    await page.screenshot({ path: join(SHOTS, "2-drawn.png") });
    // Each item is one row: its grid has one row track, and its rank, text and three buttons share it.
    const layout = await page.locator("#completions li").evaluateAll((items) =>
      items.map((li) => {
        const { getComputedStyle } = globalThis as any;
        const centres = [...li.children].map((c: any) => c.getBoundingClientRect().top + c.getBoundingClientRect().height / 2);
        return {
          rows: getComputedStyle(li).gridTemplateRows.split(" ").length,
          children: li.children.length,
          sameRow: Math.max(...centres) - Math.min(...centres) < 2,
        };
      }),
    );
    expect(layout).toEqual(Array(4).fill({ rows: 1, children: 5, sameRow: true }));

    // Drag: whichever of the two worst is not on top goes there (so a drag always happens).
    const full = (text: string) => "这款手机用了一周，感觉" + text;
    const dragged = (await order())[0] === full(COMPLETIONS[3]!) ? COMPLETIONS[2]! : COMPLETIONS[3]!;
    await page.locator("#completions li", { hasText: dragged }).dragTo(page.locator("#completions li").first());
    expect((await order())[0]).toBe(full(dragged));
    // Keyboard: focus an item's ↑ button and press Enter until each is in place, best first.
    for (let target = 0; target < COMPLETIONS.length - 1; target++) {
      while ((await order()).indexOf(full(COMPLETIONS[target]!)) !== target) {
        await page.getByRole("button", { name: `Move up: ${COMPLETIONS[target]}` }).focus();
        await page.keyboard.press("Enter");
      }
    }
    expect(await order()).toEqual(COMPLETIONS.map((c) => "这款手机用了一周，感觉" + c));
    // The two worst are equally bad: "=" ties the last with the one above it.
    await page.getByRole("button", { name: `As good as the one above: ${COMPLETIONS[3]}` }).click();
    expect(await page.locator("#completions li .rank").allInnerTexts()).toEqual(["1", "2", "3", "3"]);
    await page.screenshot({ path: join(SHOTS, "3-ordered.png") });

    await page.getByRole("button", { name: /Save ranking/ }).click();
    await expect.poll(() => page.locator("#status").innerText()).toMatch(/Saved ranking #\d+\. No more groups wait for you now\./);
    // The saved group leaves the screen (this prompt had one group; the next would come at once).
    expect(await page.locator("#completions li").count()).toBe(0);
    expect(await page.locator("#save").isDisabled()).toBe(true);
    await page.screenshot({ path: join(SHOTS, "4-saved.png") });

    await page.getByRole("tab", { name: /Dataset/ }).click();
    await expect.poll(() => page.locator("#dataset tbody tr").count()).toBe(1);
    expect(await page.locator("#dataset tbody tr td ol li").allInnerTexts()).toEqual(COMPLETIONS);
    await page.screenshot({ path: join(SHOTS, "5-dataset.png") });

    // And in D1, through the API: one web ranking in this order.
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const tsv = await (await admin.v1.exports["rankings.tsv"].$get({ query: {} })).text();
    // The seed's TSV cannot say "equal": one strict line per way through the tie.
    expect(tsv).toBe(`${COMPLETIONS.slice(0, 3).join("\t")}\n${[...COMPLETIONS.slice(0, 2), COMPLETIONS[3]].join("\t")}\n`);
    const list = await (await admin.v1.rankings.$get({ query: {} })).json();
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ source: "web", promptId });
    expect(list.items[0]!.completions.map((c) => c.level)).toEqual([0, 1, 2, 2]);
  });

  it("lets an admin rater add a prompt to the pool and switch one off", async () => {
    await page.getByRole("tab", { name: /Prompts/ }).click();
    await page.locator("#new-prompt").fill("这家酒店的早餐");
    await page.getByRole("button", { name: "Add" }).click();
    await expect.poll(async () => (await page.locator("#prompt-list li").allInnerTexts()).map((t) => t.trim())).toContain("这家酒店的早餐");
    // Checkboxes, not bullets, mark the prompts.
    expect(
      new Set(await page.locator("#prompt-list li").evaluateAll((lis) => lis.map((li) => (globalThis as any).getComputedStyle(li).listStyleType))),
    ).toEqual(new Set(["none"]));
    await page.getByRole("checkbox", { name: "Active: 这款手机用了一周，感觉" }).uncheck();
    await expect.poll(() => page.locator("#status").innerText()).toMatch(/is off\./);
    await page.screenshot({ path: join(SHOTS, "6-prompts.png") });
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const { items } = await (await admin.v1.prompts.$get({ query: {} })).json();
    expect(items.find((p) => p.text === "这家酒店的早餐")?.active).toBe(true);
    expect(items.find((p) => p.id === promptId)?.active).toBe(false);
  });

  it("shows admins the Runs tab: each run's checkpoints, rejected ones with the reason, and vega-lite charts over runs", async () => {
    // Three runs as the trainer daemon leaves them (its publishCheckpoint, its metric keys).
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const trainer = trainerApi(api.url, api.tokens.TRAINER_API_TOKEN);
    const REJECTED = "held-out accuracy 0.7200 < active 0.7400 on 96 pairs";
    type SeedRun = {
      reward: Record<string, number>;
      rejectedReward?: string;
      policy?: { metrics: Record<string, number>; rejected?: string };
      used: Record<string, number>;
    };
    const runs: SeedRun[] = [
      {
        reward: { held_out_accuracy: 0.7, held_out_pairs: 80 },
        policy: { metrics: { "env/reward_mean": 0.21, "eval/kl_to_reference": 0.012, "eval/distinct_2": 0.62, "eval/reference_distinct_2": 0.66 } },
        used: { "labels/used_rankings": 40, "labels/used_scores": 8 },
      },
      {
        reward: { held_out_accuracy: 0.74, active_held_out_accuracy: 0.7, held_out_pairs: 88 },
        policy: {
          metrics: { "env/reward_mean": 0.35, "eval/kl_to_reference": 0.31, "eval/distinct_2": 0.55, "eval/reference_distinct_2": 0.66 },
          rejected: "KL to the reference 0.310 > budget 0.250",
        },
        used: { "labels/used_rankings": 24 },
      },
      {
        reward: { held_out_accuracy: 0.72, active_held_out_accuracy: 0.74, held_out_pairs: 96 },
        rejectedReward: REJECTED,
        used: { "labels/used_rankings": 16 },
      },
    ];
    const dir = join(home, "checkpoint");
    mkdirSync(dir, { recursive: true });
    const publish = async (kind: "reward" | "policy", runId: number, metrics: Record<string, number>, rejectedReason?: string) => {
      writeFileSync(join(dir, "config.json"), JSON.stringify({ kind, runId }));
      // A policy's config names the reward checkpoint PPO scored with, as policy-phase.ts writes it.
      const config = kind === "policy" ? { reward_checkpoint: lastReward } : {};
      const published = await publishCheckpoint(trainer, dir, {
        kind,
        metrics,
        config,
        trainingRunId: runId,
        ...(rejectedReason ? { rejectedReason } : { activate: true }),
      });
      if (kind === "reward") lastReward = published.id;
      return published.version;
    };
    let lastReward = 0;
    const runIds: number[] = [];
    const versions: string[][] = [];
    for (const r of runs) {
      expect((await admin.v1["training-runs"].$post({ json: { kind: "full" } })).status).toBe(201);
      const { run } = await trainer.claimRun("chromium-test");
      runIds.push(run!.id);
      versions.push([`reward v${await publish("reward", run!.id, r.reward, r.rejectedReward)}`]);
      if (r.policy) versions.at(-1)!.push(`policy v${await publish("policy", run!.id, r.policy.metrics, r.policy.rejected)}`);
      await trainer.finishRun(run!.id, { status: "succeeded", metrics: r.used, summary: `chromium test run ${runIds.length}` });
    }

    const problems: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && problems.push(m.text())));
    page.on("pageerror", (e) => void problems.push(e.message));
    await page.getByRole("tab", { name: /Runs/ }).click();
    for (const chart of ["accuracy", "reward", "kl", "distinct", "labels"]) {
      await expect.poll(() => page.locator(`#chart-${chart}[data-rendered=true] svg`).count(), { timeout: 20_000 }).toBe(1);
    }
    // One point per run and series with a figure: candidate ×3 + active ×2; the policy's two runs; bars: 40+8, 24, 16.
    const marks = (chart: string, mark: string) => page.locator(`#chart-${chart} g.mark-${mark}.role-mark path`).count();
    expect(await marks("accuracy", "symbol")).toBe(5);
    expect(await marks("accuracy", "line")).toBe(2);
    expect(await marks("reward", "symbol")).toBe(2);
    expect(await marks("kl", "symbol")).toBe(2);
    expect(await marks("distinct", "symbol")).toBe(4);
    expect(await marks("labels", "rect")).toBe(4);
    // Mean reward: one colour per reward model (each run's PPO used its own), named in the legend;
    // each has one point here, and a one-point axis still reads as a short number.
    expect(await page.locator("#chart-reward .role-legend-label text").allTextContents()).toEqual([
      `scored by reward ${versions[0]![0]!.split(" ")[1]}`,
      `scored by reward ${versions[1]![0]!.split(" ")[1]}`,
    ]);
    for (const chart of ["accuracy", "reward", "kl", "distinct", "labels"]) {
      for (const tick of await page.locator(`#chart-${chart} .role-axis-label text`).allTextContents())
        expect(tick.replace(/^[−-]/, "").replace(/^0\./, "").replace(".", "").length, `${chart}: ${tick}`).toBeLessThanOrEqual(4);
    }
    // The axis names the runs by id.
    expect(await page.locator("#chart-accuracy .role-axis-label text").allTextContents()).toEqual(expect.arrayContaining(runIds.map(String)));
    expect(problems).toEqual([]);
    expect(notFound).toEqual([]);

    // The table: newest run first, the rejected checkpoints with their reasons, the live ones marked.
    const rows = page.locator("#runs tbody tr");
    expect((await rows.allInnerTexts()).slice(0, 3).map((t) => t.split(/\s/)[0])).toEqual([...runIds].reverse().map((id) => `#${id}`));
    const listed = async (i: number) => (await page.locator(`#run-${runIds[i]} li`).allInnerTexts()).map((t) => t.trim());
    expect(await listed(2)).toEqual([`${versions[2]![0]}: rejected: ${REJECTED}`]);
    expect(await listed(1)).toEqual([`${versions[1]![0]}: active`, `${versions[1]![1]}: rejected: KL to the reference 0.310 > budget 0.250`]);
    expect(await listed(0)).toEqual([`${versions[0]![0]}: activated, since replaced`, `${versions[0]![1]}: active`]);

    // A screenshot a reader can look at, checked to be a real, non-blank PNG (decoded by the browser itself).
    const shot = join(SHOTS, "7-runs.png");
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const probe = await browser.newPage();
    const pixels = await probe.evaluate(async (b64) => {
      // Runs in the browser (this file is typed for Node, without the DOM's types).
      const { Image, document } = globalThis as any;
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = Object.assign(document.createElement("canvas"), { width: img.width, height: img.height });
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const d: Uint8ClampedArray = ctx.getImageData(0, 0, img.width, img.height).data;
      const colours = new Set<number>();
      let dark = 0;
      for (let i = 0; i < d.length; i += 4) {
        colours.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
        if (d[i]! + d[i + 1]! + d[i + 2]! < 300) dark++;
      }
      return { width: img.width, height: img.height, colours: colours.size, darkShare: dark / (d.length / 4) };
    }, png.toString("base64"));
    await probe.close();
    expect(pixels.width).toBe(1100);
    expect(pixels.height).toBeGreaterThan(600);
    expect(pixels.colours).toBeGreaterThan(50);
    expect(pixels.darkShare).toBeGreaterThan(0.003);
    expect(pixels.darkShare).toBeLessThan(0.5);
  });

  it("hides the Runs tab from a rater who is not an admin, and refuses them /app/api/runs with 403", async () => {
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const rater = await (await admin.v1.raters.$post({ json: { externalId: "web:wu", displayName: "吴" } })).json();
    const login = await (await admin.v1.raters[":id"]["web-logins"].$post({ param: { id: String(rater.id) }, json: { label: "chromium test" } })).json();
    wu = { id: rater.id, token: login.token };
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, locale: "zh-CN" });
    const raterPage = await context.newPage();
    await raterPage.goto(`${api.url}/app`);
    await raterPage.locator("#token").fill(login.token);
    await raterPage.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => raterPage.locator("#who").innerText()).toContain("吴");
    expect(await raterPage.getByRole("tab", { name: /Runs/ }).count()).toBe(0);
    expect(await raterPage.getByRole("tab", { name: /Prompts/ }).count()).toBe(0);
    expect(await raterPage.evaluate(async () => (await fetch("/app/api/runs")).status)).toBe(403);
    await context.close();
  });

  it("shows live agreement in the Dataset tab, and lets an admin block a rater, whose login token is then refused", async () => {
    // A live reward checkpoint with the figures the trainer stores (reward-phase.ts, reliability.ts).
    const trainer = trainerApi(api.url, api.tokens.TRAINER_API_TOKEN);
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const lin = (await (await admin.v1.raters.$get({ query: {} })).json()).items.find((r) => r.externalId === "web:lin")!;
    const dir = join(home, "checkpoint");
    writeFileSync(join(dir, "config.json"), JSON.stringify({ kind: "reward", agreement: true }));
    const metrics = {
      held_out_accuracy: 0.75,
      "agreement/model_rater_tau": 0.42,
      "agreement/rater_rater_tau": 0.58,
      "agreement/shared_pairs": 36,
      [`reliability/rater_${lin.id}`]: 0.93,
      [`reliability_weight/rater_${lin.id}`]: 1,
      [`reliability_judgements/rater_${lin.id}`]: 40,
      [`held_out_accuracy/rater_${lin.id}`]: 0.81,
      [`held_out_pairs/rater_${lin.id}`]: 16,
      [`reliability/rater_${wu.id}`]: 0.51,
      [`reliability_weight/rater_${wu.id}`]: 0.1,
      [`reliability_judgements/rater_${wu.id}`]: 28,
      [`held_out_accuracy/rater_${wu.id}`]: 0.5,
      [`held_out_pairs/rater_${wu.id}`]: 12,
    };
    const live = await publishCheckpoint(trainer, dir, { kind: "reward", metrics, activate: true });

    // A rater sees the taus and their own held-out accuracy, not the reliability table.
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, locale: "zh-CN" });
    const raterPage = await context.newPage();
    await raterPage.goto(`${api.url}/app`);
    await raterPage.locator("#token").fill(wu.token);
    await raterPage.getByRole("button", { name: "Log in" }).click();
    await raterPage.getByRole("tab", { name: /Dataset/ }).click();
    await expect.poll(() => raterPage.locator("#tau-model").innerText()).toBe("0.420");
    expect(await raterPage.locator("#own-accuracy").innerText()).toBe("0.500 on 12 pairs");
    expect(await raterPage.locator("#reliability-panel").isHidden()).toBe(true);

    // The admin sees the same taus and every rater's reliability, least reliable first.
    await page.getByRole("tab", { name: /Dataset/ }).click();
    await expect.poll(() => page.locator("#agreement-source").innerText()).toContain(`v${live.version} (#${live.id})`);
    expect(await page.locator("#tau-model").innerText()).toBe("0.420");
    expect(await page.locator("#tau-raters").innerText()).toBe("0.580");
    expect(await page.locator("#shared-pairs").innerText()).toBe("36");
    expect(await page.locator("#own-accuracy").innerText()).toBe("0.810 on 16 pairs");
    await expect.poll(() => page.locator("#reliability tbody tr").count()).toBeGreaterThanOrEqual(2);
    const cells = async (id: number) => (await page.locator(`#rater-${id} td`).allInnerTexts()).map((t) => t.trim());
    expect(await cells(wu.id)).toEqual(["吴", "0.510", "0.10", "28", "0.500 (12 pairs)", "active", "Block"]);
    expect(await cells(lin.id)).toEqual(["林 (admin)", "0.930", "1", "40", "0.810 (16 pairs)", "active", "Block"]);
    expect(await page.locator("#reliability tbody tr").first().getAttribute("id")).toBe(`rater-${wu.id}`);
    // An admin cannot block themselves from here.
    expect(await page.getByRole("button", { name: "Block 林" }).isDisabled()).toBe(true);

    await page.getByRole("button", { name: "Block 吴" }).click();
    await expect.poll(() => page.locator("#status").innerText()).toMatch(/吴 is blocked/);
    expect(await cells(wu.id)).toEqual(["吴", "0.510", "0.10", "28", "0.500 (12 pairs)", "blocked", "Unblock"]);
    await page.screenshot({ path: join(SHOTS, "8-agreement.png"), fullPage: true });
    // The blocked rater's token is refused: their open page and a fresh login both get 401.
    expect(await raterPage.evaluate(async () => (await fetch("/app/api/me")).status)).toBe(401);
    const login = (token: string) =>
      fetch(`${api.url}/app/api/login`, { method: "POST", headers: { origin: api.url, "content-type": "application/json" }, body: JSON.stringify({ token }) });
    expect((await login(wu.token)).status).toBe(401);
    expect((await (await admin.v1.raters.$get({ query: {} })).json()).items.find((r) => r.id === wu.id)).toMatchObject({ blocked: true });

    await page.getByRole("button", { name: "Unblock 吴" }).click();
    await expect.poll(() => page.locator("#status").innerText()).toMatch(/吴 is unblocked/);
    expect((await login(wu.token)).status).toBe(200);
    await context.close();
  });
});
