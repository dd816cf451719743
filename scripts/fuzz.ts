/**
 * `npm run fuzz -- --count 10000 --seed 1`: the API fuzzer (services/api/test/fuzz) run
 * long, against the Worker in workerd in this process (Miniflare) with a fresh local D1
 * and R2, the migrations applied as `wrangler d1 migrations apply` would. Prints the
 * routes, the requests, 5xx seen, rows stored on rejected requests and wrong error
 * shapes, and bodies not declared JSON that a JSON route accepted; exits 1 when any of those is not 0.
 */
import { parseArgs } from "node:util";
import { makeFixture, runFuzz, type FuzzTarget } from "@ranklab/api/testing/fuzz-engine";
import { TABLES } from "@ranklab/api/testing/tables";
import { MINIFLARE_TOKENS, workerInMiniflare } from "./lib/worker-in-miniflare.ts";

const { values } = parseArgs({ options: { count: { type: "string", default: "10000" }, seed: { type: "string", default: "1" } } });
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
  console.error("fuzz: --count must be a positive integer and --seed an integer, e.g. npm run fuzz -- --count 10000 --seed 1");
  process.exit(2);
}

const tokens = MINIFLARE_TOKENS;
const mf = await workerInMiniflare();

try {
  const db = await mf.getD1Database("DB");
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
  console.log(
    `answers: ${Object.entries(report.byStatus)
      .sort()
      .map(([s, n]) => `${s}×${n}`)
      .join(" ")}`,
  );
  console.log(`5xx seen: ${report.fiveXX}`);
  console.log(`rows stored (or removed) on rejected requests: ${report.storedOnRejected}`);
  console.log(`4xx without the error shape: ${report.badErrorShape}`);
  console.log(`no answer: ${report.noAnswer}`);
  console.log(`bodies not declared JSON that a JSON route accepted: ${report.acceptedWrongType}`);
  const untouched = Object.entries(report.byRoute)
    .filter(([, by]) => !by["2xx"])
    .map(([route]) => route);
  console.log(`routes never answered 2xx: ${untouched.length === 0 ? "none" : untouched.join(", ")}`);
  for (const example of report.examples) console.log(`violation: ${example}`);
  process.exitCode = report.fiveXX + report.storedOnRejected + report.badErrorShape + report.noAnswer + report.acceptedWrongType > 0 ? 1 : 0;
} finally {
  await mf.dispose();
}
