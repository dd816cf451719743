/**
 * The property-based fuzzer: malformed and hostile requests for every route of
 * route-table.ts, sent one at a time, each checked for three properties:
 *   1. no 5xx;
 *   2. every 4xx has the one error shape `{error: {code, message, issues?}}`;
 *   3. a 4xx stores nothing: the row count of every table is the same after it.
 * and a fourth for JSON routes: 4. a body not declared JSON (text/plain, a form type, no
 * Content-Type) is refused, never read as `{}`.
 * It runs inside the API's vitest project (workerd, D1) and as `npm run fuzz`.
 */
import fc from "fast-check";
import { contentType, hostileSegment, hostileValue, malformedBody, mutate, serialise, type Mutation } from "./hostile.ts";
import { ROUTES, routeName, type Fixture, type Role, type RouteDef } from "./route-table.ts";

export interface FuzzTarget {
  /** Where requests go, e.g. `https://api.test` (the page's own origin for its Origin header). */
  origin: string;
  tokens: Record<Role, string>;
  fetch(request: Request): Promise<Response>;
  /** Rows per table. */
  counts(): Promise<Record<string, number>>;
}

export interface FuzzRequest {
  route: string;
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Set when the request must be refused whatever else it holds: a JSON route sent a body of another type. */
  mustRefuse?: string;
}

const ERROR_CODES = new Set([
  "invalid_request",
  "malformed_json",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "payload_too_large",
  "unsupported_media_type",
  "lease_expired",
  "checksum_mismatch",
  "scoring_unavailable",
  "scorer_failed",
]);

export interface Outcome {
  status: number;
  /** Milliseconds from sending to the whole answer read. */
  ms?: number;
  /** What broke, if anything: one line. */
  violation?: string;
}

// ---------------------------------------------------------------- the fixture

async function must(target: FuzzTarget, method: string, path: string, role: Role, body?: unknown, init: { raw?: Uint8Array } = {}): Promise<any> {
  const headers: Record<string, string> = { authorization: `Bearer ${target.tokens[role]}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (init.raw) headers["content-length"] = String(init.raw.byteLength);
  const res = await target.fetch(
    new Request(`${target.origin}${path}`, { method, headers, body: init.raw ?? (body === undefined ? undefined : JSON.stringify(body)) }),
  );
  const text = await res.text();
  if (!res.ok) throw new Error(`fuzz fixture: ${method} ${path} answered ${res.status} ${text}`);
  return JSON.parse(text);
}

async function loginCookie(target: FuzzTarget, raterId: number): Promise<{ cookie: string; token: string; id: number }> {
  const login = await must(target, "POST", `/v1/raters/${raterId}/web-logins`, "admin", { label: "fuzz" });
  // The cookie holds a session id the login gives, never the login token (web/session.ts).
  const res = await target.fetch(
    new Request(`${target.origin}/app/api/login`, {
      method: "POST",
      headers: { origin: target.origin, "content-type": "application/json" },
      body: JSON.stringify({ token: login.token }),
    }),
  );
  if (!res.ok) throw new Error(`fuzz fixture: POST /app/api/login answered ${res.status} ${await res.text()}`);
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  return { cookie, token: login.token, id: login.id };
}

async function publishCheckpoint(target: FuzzTarget, kind: "policy" | "reward", tag: string): Promise<number> {
  const bytes = new TextEncoder().encode(`fuzz ${kind} checkpoint ${tag}`);
  const sha256 = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const meta = await must(target, "POST", "/v1/checkpoints", "trainer", { kind, sha256, sizeBytes: bytes.byteLength });
  if (kind === "policy") await must(target, "PUT", `/v1/checkpoints/${meta.id}/file`, "trainer", undefined, { raw: bytes });
  return meta.id;
}

/** Rows the fuzzer's valid requests refer to, made through the API itself. */
export async function makeFixture(target: FuzzTarget, tag: string): Promise<Fixture> {
  const externalId = `tg:fuzz-${tag}`;
  const rater = await must(target, "POST", "/v1/raters", "bot", { externalId });
  const spare = await must(target, "POST", "/v1/raters", "bot", { externalId: `web:fuzz-spare-${tag}` });
  const admin = await must(target, "POST", "/v1/raters", "bot", { externalId: `web:fuzz-admin-${tag}` });
  await must(target, "PATCH", `/v1/raters/${admin.id}`, "admin", { role: "admin" });
  const { prompts } = await must(target, "POST", "/v1/prompts", "admin", { prompts: [{ text: `fuzz prompt ${tag}` }] });
  const promptId = prompts[0].id as number;
  const policyCheckpointId = await publishCheckpoint(target, "policy", tag);
  const rewardCheckpointId = await publishCheckpoint(target, "reward", tag);
  const { completions } = await must(target, "POST", "/v1/completions", "trainer", {
    checkpointId: policyCheckpointId,
    completions: Array.from({ length: 6 }, (_, i) => ({ promptId, text: `fuzz completion ${i} ${tag}` })),
  });
  const completionIds = completions.map((c: { id: number }) => c.id) as number[];
  const ranking = await must(target, "POST", "/v1/rankings", "bot", {
    raterId: rater.id,
    promptId,
    completionIds: completionIds.slice(0, 4),
    source: "telegram",
  });
  await must(target, "POST", "/v1/scores", "bot", { raterId: rater.id, completionId: completionIds[0], value: 0.5, source: "telegram" });
  const gold = await must(target, "POST", "/v1/gold-groups", "admin", { promptId, completionIds: completionIds.slice(2, 6) });
  const lease = await must(target, "POST", "/v1/leases", "trainer", { holder: "fuzz", limit: 1 });
  const runs = await must(target, "GET", "/v1/training-runs?limit=1", "admin");
  const runId = (runs.items[0]?.id as number | undefined) ?? (await must(target, "POST", "/v1/training-runs", "admin", { kind: "reward" })).id;
  const sessionKey = `fuzz:${tag}`;
  await must(target, "PUT", `/v1/bot-sessions/${sessionKey}`, "bot", { value: { picked: [1] } });
  const raterLogin = await loginCookie(target, rater.id);
  const adminLogin = await loginCookie(target, admin.id);
  const spareLogin = await loginCookie(target, spare.id);
  return {
    tag,
    raterId: rater.id,
    spareRaterId: spare.id,
    spareLoginId: spareLogin.id,
    adminRaterId: admin.id,
    externalId,
    promptId,
    completionIds,
    rankingId: ranking.ranking.id,
    goldGroupId: gold.goldGroup.id,
    policyCheckpointId,
    rewardCheckpointId,
    runId,
    leaseId: lease.lease.id,
    sessionKey,
    raterCookie: raterLogin.cookie,
    adminCookie: adminLogin.cookie,
    loginToken: raterLogin.token,
  };
}

// ---------------------------------------------------------------- generating requests

type Auth = { kind: "role"; role: Role } | { kind: "none" } | { kind: "wrong-token" } | { kind: "malformed-auth" };

function authArb(route: RouteDef): fc.Arbitrary<Auth> {
  const allowed = Array.isArray(route.auth) ? route.auth : [];
  const others = (["bot", "trainer", "admin"] as Role[]).filter((r) => !allowed.includes(r));
  return fc.oneof(
    ...(allowed.length > 0 ? [{ weight: 8, arbitrary: fc.constantFrom(...allowed).map((role): Auth => ({ kind: "role", role })) }] : []),
    ...(others.length > 0 ? [{ weight: 1, arbitrary: fc.constantFrom(...others).map((role): Auth => ({ kind: "role", role })) }] : []),
    { weight: 1, arbitrary: fc.constant<Auth>({ kind: "none" }) },
    { weight: 1, arbitrary: fc.constantFrom<Auth>({ kind: "wrong-token" }, { kind: "malformed-auth" }) },
  );
}

type PageAuth = { cookie: "rater" | "admin" | "none" | "bogus"; origin: "same" | "foreign" | "none" | "site-cross" | "site-same" };

const pageAuthArb = (route: RouteDef): fc.Arbitrary<PageAuth> =>
  fc.record({
    cookie: fc.oneof(
      { weight: 6, arbitrary: fc.constant<PageAuth["cookie"]>(route.auth === "page-admin" ? "admin" : "rater") },
      { weight: 2, arbitrary: fc.constantFrom<PageAuth["cookie"]>("rater", "admin") },
      { weight: 1, arbitrary: fc.constantFrom<PageAuth["cookie"]>("none", "bogus") },
    ),
    origin: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom<PageAuth["origin"]>("same", "site-same") },
      { weight: 1, arbitrary: fc.constantFrom<PageAuth["origin"]>("foreign", "none", "site-cross") },
    ),
  });

type BodyPlan =
  | { kind: "none" }
  | { kind: "json"; value: unknown; contentType: string | undefined }
  | { kind: "raw"; bytes: string | Uint8Array; contentType: string | undefined };

function bodyArb(route: RouteDef, fx: Fixture): fc.Arbitrary<BodyPlan> {
  if (route.raw) {
    return fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((bytes): BodyPlan => ({ kind: "raw", bytes, contentType: "application/octet-stream" })),
      malformedBody.map((bytes): BodyPlan => ({ kind: "raw", bytes, contentType: undefined })),
      fc.constant<BodyPlan>({ kind: "none" }),
    );
  }
  const hostileJson = fc.record({ value: hostileValue, contentType }).map(({ value, contentType }): BodyPlan => ({ kind: "json", value, contentType }));
  const malformed = fc.record({ bytes: malformedBody, contentType }).map(({ bytes, contentType }): BodyPlan => ({ kind: "raw", bytes, contentType }));
  if (!route.body) {
    return fc.oneof(
      { weight: 8, arbitrary: fc.constant<BodyPlan>({ kind: "none" }) },
      { weight: 1, arbitrary: hostileJson },
      { weight: 1, arbitrary: malformed },
    );
  }
  const valid = route.body(fx);
  const mutated = fc
    .record({
      body: valid,
      pick: fc.nat(),
      kind: fc.constantFrom<Mutation>("replace", "replace", "replace", "delete", "add", "whole"),
      value: hostileValue,
      key: fc.constantFrom("extra", "__proto__", "raterId", "id", "constructor", "a\uD800"),
    })
    .map(({ body, pick, kind, value, key }) => mutate(body, pick, kind, value, key));
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((value): BodyPlan => ({ kind: "json", value, contentType: "application/json" })) },
    { weight: 8, arbitrary: fc.record({ value: mutated, contentType }).map(({ value, contentType }): BodyPlan => ({ kind: "json", value, contentType })) },
    { weight: 1, arbitrary: hostileJson },
    { weight: 1, arbitrary: malformed },
    { weight: 1, arbitrary: fc.constant<BodyPlan>({ kind: "none" }) },
  );
}

function paramsArb(route: RouteDef, fx: Fixture): fc.Arbitrary<Record<string, string>> {
  const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const valid = route.params?.(fx) ?? {};
  return fc.record(
    Object.fromEntries(
      names.map((name) => [
        name,
        fc.oneof(
          { weight: 6, arbitrary: valid[name] ?? fc.constant("1") },
          { weight: 3, arbitrary: hostileSegment },
          { weight: 1, arbitrary: fc.constantFrom("999999999", "424242") },
        ),
      ]),
    ),
  );
}

function queryArb(route: RouteDef, fx: Fixture): fc.Arbitrary<string> {
  const valid = route.query?.(fx) ?? fc.constant({});
  return fc
    .record({
      base: valid,
      change: fc.constantFrom("none", "none", "replace", "add", "duplicate", "raw"),
      pick: fc.nat(),
      value: hostileSegment,
      key: fc.constantFrom("limit", "cursor", "raterId", "promptId", "kind", "extra", "__proto__", "%ED%A0%80"),
    })
    .map(({ base, change, pick, value, key }) => {
      const pairs = Object.entries(base).map(([k, v]) => [k, encodeURIComponent(String(v))]);
      const target = pairs.length > 0 ? pairs[pick % pairs.length]! : undefined;
      if (change === "replace" && target) target[1] = value;
      if (change === "add") pairs.push([key, value]);
      if (change === "duplicate" && target) pairs.push([target[0]!, value]);
      if (change === "raw") return `?${value}`;
      return pairs.length > 0 ? `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}` : "";
    });
}

function authHeaders(target: FuzzTarget, fx: Fixture, route: RouteDef, auth: Auth | PageAuth): Record<string, string> {
  const headers: Record<string, string> = {};
  if ("kind" in auth) {
    if (auth.kind === "role") headers.authorization = `Bearer ${target.tokens[auth.role]}`;
    if (auth.kind === "wrong-token") headers.authorization = "Bearer not-a-token";
    if (auth.kind === "malformed-auth") headers.authorization = "Bearer";
    return headers;
  }
  if (auth.cookie === "rater") headers.cookie = fx.raterCookie;
  if (auth.cookie === "admin") headers.cookie = fx.adminCookie;
  if (auth.cookie === "bogus") headers.cookie = "__Host-ranklab_session=%ED%A0%80; __Host-ranklab_session=x; ranklab_session=y";
  if (auth.origin === "same") headers.origin = target.origin;
  if (auth.origin === "foreign") headers.origin = "https://evil.example";
  if (auth.origin === "site-cross") headers["sec-fetch-site"] = "cross-site";
  if (auth.origin === "site-same") headers["sec-fetch-site"] = "same-origin";
  void route;
  return headers;
}

const isJsonType = (type: string | undefined) => type !== undefined && /^application\/([\w.-]+\+)?json$/i.test(type.split(";")[0]!.trim());

/** One request for one route: auth, path params, query and body each valid or broken. */
export function requestArb(target: FuzzTarget, fx: Fixture, route: RouteDef): fc.Arbitrary<FuzzRequest> {
  const auth: fc.Arbitrary<Auth | PageAuth> = route.auth === "page" || route.auth === "page-admin" ? pageAuthArb(route) : authArb(route);
  return fc.record({ auth, params: paramsArb(route, fx), query: queryArb(route, fx), body: bodyArb(route, fx) }).map(({ auth, params, query, body }) => {
    const path = route.path.replace(/:(\w+)/g, (_m, name: string) => params[name]!);
    const headers = authHeaders(target, fx, route, auth);
    let sent: string | Uint8Array | undefined;
    if (body.kind !== "none") {
      sent = body.kind === "json" ? serialise(body.value) : body.bytes;
      if (body.contentType) headers["content-type"] = body.contentType;
      // A checkpoint upload declares its length (a client's fetch refuses to send a wrong one).
      if (route.raw) headers["content-length"] = String(typeof sent === "string" ? new TextEncoder().encode(sent).byteLength : sent.byteLength);
    }
    const wrongType = route.body && sent !== undefined && !isJsonType(headers["content-type"]) && route.method !== "GET";
    return {
      route: routeName(route),
      method: route.method,
      url: `${path}${query}`,
      headers,
      ...(sent === undefined || route.method === "GET" ? {} : { body: sent }),
      ...(wrongType ? { mustRefuse: `a JSON route accepted a body sent as ${headers["content-type"] ?? "(no Content-Type)"}` } : {}),
    };
  });
}

/** A request for any route in the table, each route equally likely. */
export const anyRequestArb = (target: FuzzTarget, fx: Fixture, routes: RouteDef[] = ROUTES) =>
  fc.constantFrom(...routes).chain((route) => requestArb(target, fx, route));

// ---------------------------------------------------------------- checking one request

function errorShapeProblem(text: string, contentTypeHeader: string | null): string | undefined {
  if (!contentTypeHeader?.startsWith("application/json")) return `content-type ${contentTypeHeader}`;
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return "body is not JSON";
  }
  const keys = body && typeof body === "object" ? Object.keys(body) : [];
  if (keys.length !== 1 || keys[0] !== "error") return `top-level keys ${JSON.stringify(keys)}`;
  const { code, message, issues, ...rest } = body.error ?? {};
  if (!ERROR_CODES.has(code)) return `unknown code ${JSON.stringify(code)}`;
  if (typeof message !== "string" || message.length === 0) return "no message";
  if (Object.keys(rest).length > 0) return `extra keys ${Object.keys(rest).join(",")}`;
  if (issues !== undefined && !(Array.isArray(issues) && issues.every((i: any) => typeof i?.path === "string" && typeof i?.message === "string")))
    return "malformed issues";
  return undefined;
}

const differences = (a: Record<string, number>, b: Record<string, number>) =>
  Object.keys({ ...a, ...b })
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k} ${a[k]}→${b[k]}`)
    .join(", ");

/** Sends one request and checks the three properties. */
export async function exercise(target: FuzzTarget, req: FuzzRequest): Promise<Outcome> {
  const before = await target.counts();
  let res: Response;
  try {
    res = await target.fetch(new Request(`${target.origin}${req.url}`, { method: req.method, headers: req.headers, body: req.body }));
  } catch (err) {
    return { status: 0, violation: `no answer: ${err instanceof Error ? err.message : String(err)}` };
  }
  // Read as bytes: workerd warns when .text() meets a body that is not declared text.
  const text = new TextDecoder().decode(await res.arrayBuffer());
  if (res.status >= 500) return { status: res.status, violation: `${res.status} ${text.slice(0, 200)}` };
  if (req.mustRefuse && res.status < 400) return { status: res.status, violation: `${res.status}: ${req.mustRefuse}` };
  if (res.status >= 400) {
    const shape = errorShapeProblem(text, res.headers.get("content-type"));
    if (shape) return { status: res.status, violation: `${res.status} without the error shape (${shape}): ${text.slice(0, 200)}` };
    const changed = differences(before, await target.counts());
    if (changed) return { status: res.status, violation: `${res.status} but rows changed: ${changed}` };
  }
  return { status: res.status };
}

/** How a request reads in a report: method, URL and the start of its body. */
export function describeRequest(req: FuzzRequest): string {
  const body = req.body === undefined ? "" : typeof req.body === "string" ? req.body : `<${req.body.byteLength} bytes>`;
  const short = (s: string) => (s.length > 160 ? `${s.slice(0, 160)}… (${s.length} chars)` : s);
  return `${req.method} ${short(req.url)} ${JSON.stringify({ ...req.headers, authorization: req.headers.authorization ? "Bearer …" : undefined, cookie: req.headers.cookie ? "…" : undefined })} ${short(body)}`;
}

// ---------------------------------------------------------------- a whole run

export interface FuzzReport {
  routes: number;
  requests: number;
  byStatus: Record<string, number>;
  byRoute: Record<string, Record<string, number>>;
  fiveXX: number;
  storedOnRejected: number;
  badErrorShape: number;
  noAnswer: number;
  /** Bodies not declared JSON that a JSON route accepted (read as `{}`). */
  acceptedWrongType: number;
  /** The first few violations, with the request that caused each. */
  examples: string[];
  seconds: number;
}

/** Generates `count` requests from `seed` (fast-check's sampler) and exercises them one by one. */
export async function runFuzz(
  target: FuzzTarget,
  fx: Fixture,
  options: { count: number; seed: number; routes?: RouteDef[]; onProgress?: (done: number) => void },
): Promise<FuzzReport> {
  const routes = options.routes ?? ROUTES;
  const started = Date.now();
  const report: FuzzReport = {
    routes: routes.length,
    requests: 0,
    byStatus: {},
    byRoute: {},
    fiveXX: 0,
    storedOnRejected: 0,
    badErrorShape: 0,
    noAnswer: 0,
    acceptedWrongType: 0,
    examples: [],
    seconds: 0,
  };
  const requests = fc.sample(anyRequestArb(target, fx, routes), { seed: options.seed, numRuns: options.count });
  for (const req of requests) {
    const outcome = await exercise(target, req);
    report.requests++;
    const klass = outcome.status === 0 ? "none" : `${Math.floor(outcome.status / 100)}xx`;
    report.byStatus[String(outcome.status)] = (report.byStatus[String(outcome.status)] ?? 0) + 1;
    report.byRoute[req.route] ??= {};
    const perRoute = report.byRoute[req.route]!;
    perRoute[klass] = (perRoute[klass] ?? 0) + 1;
    if (outcome.violation) {
      if (outcome.status >= 500) report.fiveXX++;
      else if (outcome.status === 0) report.noAnswer++;
      else if (outcome.status < 400) report.acceptedWrongType++;
      else if (outcome.violation.includes("rows changed")) report.storedOnRejected++;
      else report.badErrorShape++;
      if (report.examples.length < 10) report.examples.push(`${req.route}: ${outcome.violation}\n    request: ${describeRequest(req)}`);
    }
    if (report.requests % 1000 === 0) options.onProgress?.(report.requests);
  }
  report.seconds = (Date.now() - started) / 1000;
  return report;
}
