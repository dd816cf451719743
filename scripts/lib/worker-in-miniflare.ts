import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { faultyScorer } from "@ranklab/api/testing/faulty-scorer";
import { REPO_ROOT } from "./local-env.ts";

export const MINIFLARE_TOKENS = { bot: "fuzz-bot-token", trainer: "fuzz-trainer-token", admin: "fuzz-admin-token" };

/**
 * The Worker bundled as wrangler bundles it and run in workerd through Miniflare, behind a
 * real HTTP socket (dispatchFetch), with a fresh local D1 and R2 and the migrations applied
 * as `wrangler d1 migrations apply` would: the fuzzer's target, and the tests of what
 * workerd's HTTP layer does that the in-process pool cannot show (a reset connection).
 */
export async function workerInMiniflare(): Promise<Miniflare> {
  const bundle = await build({
    entryPoints: [join(REPO_ROOT, "services/api/src/worker.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    write: false,
    logLevel: "error",
  });
  const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync(join(REPO_ROOT, "wrangler.toml"), "utf8"))![1]!;
  const mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0]!.text,
    compatibilityDate,
    d1Databases: ["DB"],
    r2Buckets: ["CHECKPOINTS"],
    bindings: {
      BOT_API_TOKEN: MINIFLARE_TOKENS.bot,
      TRAINER_API_TOKEN: MINIFLARE_TOKENS.trainer,
      ADMIN_API_TOKEN: MINIFLARE_TOKENS.admin,
      MIN_NEW_LABELS_FOR_RUN: "32",
      MAX_CHECKPOINT_BYTES: String(1024 * 1024),
      // R2's smallest part, as the API's vitest config sets it (the Worker refuses to guess a part size).
      CHECKPOINT_PART_BYTES: String(5 * 1024 * 1024),
      SCORER_URL: "http://scorer.test/good",
    },
    // /v1/score's fetches reach a scorer that answers one score per text (services/api/test/faulty-scorer.ts).
    outboundService: faultyScorer,
  });
  try {
    const db = await mf.getD1Database("DB");
    const migrations = join(REPO_ROOT, "db/migrations");
    for (const file of readdirSync(migrations)
      .filter((f) => f.endsWith(".sql"))
      .sort()) {
      for (const statement of readFileSync(join(migrations, file), "utf8").split("--> statement-breakpoint")) {
        if (statement.trim()) await db.prepare(statement).run();
      }
    }
  } catch (err) {
    await mf.dispose();
    throw err;
  }
  return mf;
}
