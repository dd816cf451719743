/**
 * `npm run fuzz -- --count 10000 --seed 1`: the API fuzzer (services/api/test/fuzz) run
 * long, against the Worker in workerd in this process (Miniflare) with a fresh local D1
 * and R2, the migrations applied as `wrangler d1 migrations apply` would. Prints the
 * routes, the requests, 5xx seen, rows stored on rejected requests and wrong error
 * shapes, and bodies not declared JSON that a JSON route accepted; exits 1 when any of those is not 0.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { makeFixture, runFuzz, type FuzzTarget } from "../services/api/test/fuzz/engine.ts";
import { faultyScorer } from "../services/api/test/faulty-scorer.ts";
import { TABLES } from "../services/api/test/tables.ts";
import { REPO_ROOT } from "./lib/local-env.ts";

const { values } = parseArgs({ options: { count: { type: "string", default: "10000" }, seed: { type: "string", default: "1" } } });
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
  console.error("fuzz: --count must be a positive integer and --seed an integer, e.g. npm run fuzz -- --count 10000 --seed 1");
  process.exit(2);
}

const tokens = { bot: "fuzz-bot-token", trainer: "fuzz-trainer-token", admin: "fuzz-admin-token" };
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
    BOT_API_TOKEN: tokens.bot,
    TRAINER_API_TOKEN: tokens.trainer,
    ADMIN_API_TOKEN: tokens.admin,
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
  for (const file of readdirSync(migrations).filter((f) => f.endsWith(".sql")).sort()) {
    for (const statement of readFileSync(join(migrations, file), "utf8").split("--> statement-breakpoint")) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }
  const countsSql = `SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(", ")}`;
  const target: FuzzTarget = {
    origin: "https://api.test",
    tokens,
    fetch: async (request) => {
      const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
      return (await mf.dispatchFetch(request.url, { method: request.method, headers: Object.fromEntries(request.headers), body })) as unknown as Response;
    },
    counts: async () => ({ ...(await db.prepare(countsSql).first<Record<string, number>>())! }),
  };
  const fixture = await makeFixture(target, `cli-${seed}`);
  console.log(`fuzz: ${count} requests, seed ${seed}, the Worker in workerd (Miniflare) with a fresh D1`);
  const report = await runFuzz(target, fixture, { count, seed, onProgress: (n) => console.log(`fuzz: ${n} requests sent`) });
  console.log(`routes: ${report.routes}`);
  console.log(`requests: ${report.requests} in ${report.seconds.toFixed(1)} s`);
  console.log(`answers: ${Object.entries(report.byStatus).sort().map(([s, n]) => `${s}×${n}`).join(" ")}`);
  console.log(`5xx seen: ${report.fiveXX}`);
  console.log(`rows stored (or removed) on rejected requests: ${report.storedOnRejected}`);
  console.log(`4xx without the error shape: ${report.badErrorShape}`);
  console.log(`no answer: ${report.noAnswer}`);
  console.log(`bodies not declared JSON that a JSON route accepted: ${report.acceptedWrongType}`);
  const untouched = Object.entries(report.byRoute).filter(([, by]) => !by["2xx"]).map(([route]) => route);
  console.log(`routes never answered 2xx: ${untouched.length === 0 ? "none" : untouched.join(", ")}`);
  for (const example of report.examples) console.log(`violation: ${example}`);
  process.exitCode = report.fiveXX + report.storedOnRejected + report.badErrorShape + report.noAnswer + report.acceptedWrongType > 0 ? 1 : 0;
} finally {
  await mf.dispose();
}
