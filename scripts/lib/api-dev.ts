import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { SEED_PROMPTS } from "@ranklab/db";
import { createApiClient } from "@ranklab/api/client";
import { localTokens, ranklabHome, REPO_ROOT, type Tokens } from "./local-env.ts";
import type { ProcessGroup } from "./processes.ts";

const WRANGLER = join(REPO_ROOT, "node_modules/.bin/wrangler");

/** Offline and quiet: no telemetry, no prompts, no update check. */
const wranglerEnv = () => ({
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CI: "true",
  NO_UPDATE_NOTIFIER: "1",
  // Miniflare otherwise fetches a `Request.cf` sample from Cloudflare at every start.
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_LOG_PATH: join(ranklabHome(), "logs"),
});

export interface ApiDevOptions {
  port: number;
  group: ProcessGroup;
  /** Poll the Worker's scheduled handler this often, as the cron trigger would in production. */
  cronEverySeconds?: number;
  /** Which of wrangler's output lines to show (all by default), e.g. to hide its line per request. */
  keep?: (line: string) => boolean;
  /** Worker vars to override (wrangler dev --var NAME:VALUE), e.g. SCORER_URL. */
  vars?: Record<string, string>;
}

export interface ApiDev {
  url: string;
  tokens: Tokens;
  /** wrangler dev's process (its exit means the API is gone). */
  process: ChildProcess;
}

/**
 * Starts the API Worker under `wrangler dev` on 127.0.0.1 with a local D1 and R2
 * kept in `<home>/state`, after applying the D1 migrations there.
 */
export async function startApiDev({ port, group, cronEverySeconds, keep, vars = {} }: ApiDevOptions): Promise<ApiDev> {
  const home = ranklabHome();
  const state = join(home, "state");
  const { tokens, file } = localTokens(home);
  // wrangler redraws a table of every migration after each one applied (~200 lines on a fresh home): shown with
  // RANKLAB_VERBOSE=1; otherwise only what it is about to do, "nothing to apply", and errors.
  const migrateLines = process.env.RANKLAB_VERBOSE === "1" ? undefined : (line: string) => /About to apply|No migrations to apply|✘|error/i.test(line);
  await group.run("migrate", WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
    cwd: REPO_ROOT,
    env: wranglerEnv(),
    ...(migrateLines ? { keep: migrateLines } : {}),
  });
  const worker = group.start(
    "api",
    WRANGLER,
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      state,
      "--env-file",
      file,
      "--test-scheduled",
      "--show-interactive-dev-session=false",
      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    { cwd: REPO_ROOT, env: wranglerEnv(), ...(keep ? { keep } : {}) },
  );
  const url = `http://127.0.0.1:${port}`;
  // Should wrangler or workerd die while starting (a port taken after all), say so now, not after the 90 s poll.
  const died = new Promise<never>((_, reject) =>
    worker.once("exit", (code, signal) => reject(new Error(`the API (wrangler dev) exited (${signal ?? `code ${code}`}) before it answered on ${url}`))),
  );
  died.catch(() => {});
  await Promise.race([waitForHealth(url), died]);
  if (cronEverySeconds) {
    // wrangler dev does not fire cron triggers; visiting /__scheduled runs the same handler.
    setInterval(() => void fetch(`${url}/__scheduled?cron=${encodeURIComponent("*/5 * * * *")}`).catch(() => {}), cronEverySeconds * 1000).unref();
  }
  return { url, tokens, process: worker };
}

export async function waitForHealth(url: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
      lastError = new Error(`status ${res.status}`);
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the API at ${url} did not become healthy in ${timeoutMs} ms: ${String(lastError)}`);
}

/** Adds the seed prompts (idempotent: prompts are unique by text). */
export async function seedPrompts(api: ApiDev): Promise<number> {
  const client = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
  const res = await client.v1.prompts.$post({ json: { prompts: SEED_PROMPTS.map((text) => ({ text, source: "seed" })) } });
  if (!res.ok) throw new Error(`seeding prompts failed: ${res.status} ${await res.text()}`);
  return (await res.json()).created;
}
