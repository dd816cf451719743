/**
 * Property-based fuzzing of every route (test/fuzz/route-table.ts) inside workerd with D1:
 * no 5xx, the one error shape on every 4xx, and nothing stored on a 4xx. Fixed seed and
 * bounded count, so the run is the same each time; `npm run fuzz` runs it longer.
 */
import { createExecutionContext, env, SELF } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { rowCounts } from "../test/helpers.ts";
import { TEST_TOKENS } from "../test/tokens.ts";
import { Deep, serialise } from "../test/fuzz/hostile.ts";
import { describeRequest, exercise, makeFixture, requestArb, type FuzzRequest, type FuzzTarget } from "../test/fuzz/engine.ts";
import { ROUTES, routeName, type Fixture, type RouteDef } from "../test/fuzz/route-table.ts";
import worker from "./worker.ts";

const SEED = 20261126;
/** Requests per route: 63 routes × 16 ≈ 1,000 requests. */
const RUNS_PER_ROUTE = 16;

const target: FuzzTarget = {
  origin: "https://api.test",
  tokens: TEST_TOKENS,
  // The Worker's fetch handler, called directly: SELF.fetch gets slower with every request in a test (~100 ms
  // each after 600), which a fuzzer cannot afford. Checkpoint uploads still go through SELF: a body made in the
  // test is a JavaScript stream, which workerd cannot pipe into the DigestStream the upload hashes with.
  // SCORER_URL answers correctly (vitest.config.ts), so a valid /v1/score is 200.
  fetch: async (request) =>
    request.method === "PUT" && new URL(request.url).pathname.endsWith("/file")
      ? SELF.fetch(request)
      : worker.fetch(request as Parameters<typeof worker.fetch>[0], env, createExecutionContext()),
  counts: () => rowCounts(),
};

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture(target, "vitest");
});

describe("fuzzing every route", () => {
  it("covers every route the Worker serves", () => {
    expect(ROUTES.length).toBeGreaterThanOrEqual(60);
    expect(new Set(ROUTES.map(routeName)).size).toBe(ROUTES.length);
  });

  // One test for all routes: every test has its own copy of storage, and setting that up per route costs more than the requests.
  it("sends every route malformed and hostile requests: no 5xx, the error shape on 4xx, nothing stored on 4xx", async () => {
    for (const route of ROUTES) {
      await fc.assert(
        fc.asyncProperty(requestArb(target, fx, route), async (req) => {
          const outcome = await exercise(target, req);
          if (outcome.violation) throw new Error(`${route.method} ${route.path}: ${outcome.violation}\nrequest: ${describeRequest(req)}`);
        }),
        { seed: SEED, numRuns: RUNS_PER_ROUTE },
      );
    }
  }, 120_000);
});

/** The route's request as its allowed caller sends it, with the fixture's ids. */
function validRequest(route: RouteDef, changes: { body?: unknown; params?: Record<string, string>; headers?: Record<string, string> } = {}): FuzzRequest {
  const [params] = fc.sample(fc.record(route.params?.(fx) ?? {}), { seed: 1, numRuns: 1 });
  const path = route.path.replace(/:(\w+)/g, (_m, name: string) => changes.params?.[name] ?? params![name]!);
  const headers: Record<string, string> = {};
  if (Array.isArray(route.auth)) headers.authorization = `Bearer ${TEST_TOKENS[route.auth[0]!]}`;
  if (route.auth === "page" || route.auth === "page-admin")
    Object.assign(headers, { cookie: route.auth === "page" ? fx.raterCookie : fx.adminCookie, origin: target.origin });
  Object.assign(headers, changes.headers);
  const req: FuzzRequest = { route: routeName(route), method: route.method, url: path, headers };
  if (changes.body !== undefined) {
    req.body = serialise(changes.body);
    headers["content-type"] = "application/json";
  }
  return req;
}

/** Status and body of every read route that does not draw at random. */
async function reads(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const route of ROUTES.filter((r) => r.method === "GET" && !/random|tasks\/next|app\/api\/task$/.test(r.path))) {
    const req = validRequest(route);
    const res = await target.fetch(new Request(`${target.origin}${req.url}`, { headers: req.headers }));
    out[req.route] = `${res.status} ${withoutClock(req.route, new TextDecoder().decode(await res.arrayBuffer()))}`;
  }
  return out;
}

/**
 * What a read says, less what moves with the clock alone: a fuzzed lease expiring between two
 * reads returns its labels to "waiting" without any request having written anything.
 */
function withoutClock(route: string, body: string): string {
  if (route !== "GET /v1/stats") return body;
  try {
    const { labelsWaiting: _w, labelsLeased: _l, ...rest } = JSON.parse(body) as Record<string, unknown>;
    return JSON.stringify(rest);
  } catch {
    return body;
  }
}

/** Refusals every write route must give without storing anything: wrong caller, ids that are not ids, hostile bodies. */
function refusals(route: RouteDef): FuzzRequest[] {
  const out: FuzzRequest[] = [];
  if (Array.isArray(route.auth)) {
    out.push(validRequest(route, { headers: { authorization: "Bearer wrong" } }));
    const other = (["bot", "trainer", "admin"] as const).find((r) => !(route.auth as string[]).includes(r));
    if (other) out.push(validRequest(route, { headers: { authorization: `Bearer ${TEST_TOKENS[other]}` } }));
  }
  if (route.auth === "page" || route.auth === "page-admin" || route.path.startsWith("/app/api")) {
    out.push(validRequest(route, { headers: { origin: "https://evil.example" } }));
  }
  for (const name of [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!)) {
    // Ids that are not decimal digits; a session key may be "0x1", but not have a space or a broken escape.
    for (const bad of name === "key" ? ["a%20b", "%ED%A0%80"] : ["0x1", "1e0", "%ED%A0%80"]) out.push(validRequest(route, { params: { [name]: bad } }));
  }
  if (route.body) {
    const [valid] = fc.sample(route.body(fx), { seed: 2, numRuns: 1 }) as [Record<string, unknown>];
    for (const key of Object.keys(valid)) {
      // Refused in any field: nested 100,000 deep, and a lone surrogate.
      for (const bad of [new Deep(100_000), "a\uD800b"]) out.push(validRequest(route, { body: { ...valid, [key]: bad } }));
    }
    out.push(validRequest(route, { body: { ...valid, extra: 1 } }));
    // A valid body not declared JSON: Hono's validator alone reads it as `{}`, which some routes take for "all".
    for (const type of ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const req = validRequest(route, { body: valid });
      req.headers["content-type"] = type;
      out.push(req);
    }
  }
  return out;
}

describe("a refused write stores nothing and breaks no read", () => {
  const writes = ROUTES.filter((r) => r.method !== "GET" && r.path !== "/app/api/logout" && r.path !== "/v1/score");
  it.each(writes.map((r) => [routeName(r), r] as const))(
    "%s",
    async (_name, route) => {
      const readsBefore = await reads();
      const before = await rowCounts();
      for (const req of refusals(route)) {
        const outcome = await exercise(target, req);
        expect(`${outcome.status} ${outcome.violation ?? ""}`, describeRequest(req)).toMatch(/^4\d\d $/);
      }
      expect(await rowCounts()).toEqual(before);
      expect(await reads()).toEqual(readsBefore);
    },
    60_000,
  );
});
