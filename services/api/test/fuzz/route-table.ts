/**
 * Every route of the API and the page, with who may call it and what a valid request
 * looks like (as fast-check arbitraries over the fuzz fixture). The fuzzer starts from
 * these and breaks them (fuzz/requests.ts).
 */
import fc from "fast-check";
import { CHECKPOINT_KINDS, LABEL_SOURCES, RATER_ROLES, RUN_KINDS, RUN_STATUSES } from "@ranklab/db";

export type Role = "bot" | "trainer" | "admin";

/** Ids and secrets made by `makeFixture` before fuzzing, so that valid requests reach the handlers. */
export interface Fixture {
  tag: string;
  raterId: number;
  /** A rater whose block, role and web logins the fuzzer may change without locking the others out. */
  spareRaterId: number;
  spareLoginId: number;
  /** A rater with the admin role (the page's admin cookie is theirs). */
  adminRaterId: number;
  externalId: string;
  promptId: number;
  completionIds: number[];
  rankingId: number;
  goldGroupId: number;
  policyCheckpointId: number;
  rewardCheckpointId: number;
  runId: number;
  leaseId: string;
  sessionKey: string;
  /** Page session cookies (`__Host-ranklab_session=…`): a rater, and a rater with the admin role. */
  raterCookie: string;
  adminCookie: string;
  loginToken: string;
}

export interface RouteDef {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  /** Bearer roles allowed; "public" for no auth; "page"/"page-admin" for the login cookie. */
  auth: Role[] | "public" | "page" | "page-admin";
  params?: (fx: Fixture) => Record<string, fc.Arbitrary<string>>;
  query?: (fx: Fixture) => fc.Arbitrary<Record<string, string>>;
  /** A valid JSON body. */
  body?: (fx: Fixture) => fc.Arbitrary<unknown>;
  /** A raw body (a checkpoint file). */
  raw?: true;
}

const ANY: Role[] = ["bot", "trainer", "admin"];
const text = (max = 40) => fc.string({ minLength: 1, maxLength: max }).filter((s) => s.trim().length > 0);
const digits = (n: fc.Arbitrary<number>) => n.map(String);
const oneOf = <T>(items: readonly T[]) => fc.constantFrom(...items);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** An object without the keys whose value came out undefined. */
const record = (shape: Record<string, fc.Arbitrary<unknown>>) =>
  fc.record(shape).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
const query = (shape: Record<string, fc.Arbitrary<string | undefined>>) => record(shape) as fc.Arbitrary<Record<string, string>>;
const paging = { limit: maybe(digits(fc.integer({ min: 1, max: 200 }))), cursor: maybe(digits(fc.integer({ min: 1, max: 100_000 }))) };
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(""));
const instant = fc.date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true }).map((d) => d.toISOString());
const completionsOf = (fx: Fixture) => fc.shuffledSubarray(fx.completionIds, { minLength: 2, maxLength: 4 });
const idOf = (id: number) => fc.constant(String(id));

export const ROUTES: RouteDef[] = [
  { method: "GET", path: "/health", auth: "public" },
  { method: "GET", path: "/openapi.json", auth: "public" },
  { method: "GET", path: "/", auth: "public" },
  {
    method: "POST",
    path: "/v1/prompts",
    auth: ["trainer", "admin"],
    body: () => fc.record({ prompts: fc.array(record({ text: text(), source: maybe(text(10)) }), { minLength: 1, maxLength: 3 }) }),
  },
  { method: "GET", path: "/v1/prompts", auth: ANY, query: () => query({ ...paging, active: maybe(oneOf(["true", "false"])) }) },
  { method: "GET", path: "/v1/prompts/random", auth: ANY },
  { method: "GET", path: "/v1/prompts/:id", auth: ANY, params: (fx) => ({ id: idOf(fx.promptId) }) },
  {
    method: "PATCH",
    path: "/v1/prompts/:id",
    auth: ["admin"],
    params: (fx) => ({ id: idOf(fx.promptId) }),
    body: () => record({ active: maybe(fc.constant(true)), text: maybe(text()) }),
  },
  {
    method: "POST",
    path: "/v1/completions",
    auth: ["trainer", "admin"],
    body: (fx) =>
      record({
        checkpointId: maybe(fc.constant(fx.policyCheckpointId)),
        generation: maybe(
          fc.dictionary(text(8), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), text(8), fc.boolean(), fc.constant(null)), { maxKeys: 3 }),
        ),
        completions: fc.array(record({ promptId: fc.constant(fx.promptId), text: text() }), { minLength: 1, maxLength: 3 }),
      }),
  },
  {
    method: "GET",
    path: "/v1/completions",
    auth: ANY,
    query: (fx) => query({ ...paging, promptId: maybe(idOf(fx.promptId)), checkpointId: maybe(idOf(fx.policyCheckpointId)) }),
  },
  {
    method: "POST",
    path: "/v1/raters",
    auth: ["bot", "admin"],
    body: () => record({ externalId: fc.stringMatching(/^(tg|web|cli):[A-Za-z0-9_.@-]{1,12}$/), displayName: maybe(text(20)) }),
  },
  { method: "GET", path: "/v1/raters", auth: ["admin"], query: () => query(paging) },
  { method: "GET", path: "/v1/raters/by-external/:externalId", auth: ["bot", "admin"], params: (fx) => ({ externalId: fc.constant(fx.externalId) }) },
  {
    method: "PATCH",
    path: "/v1/raters/:id",
    auth: ["admin"],
    params: (fx) => ({ id: idOf(fx.spareRaterId) }),
    body: () => record({ blocked: maybe(fc.boolean()), role: maybe(oneOf(RATER_ROLES)) }),
  },
  {
    method: "PUT",
    path: "/v1/raters/:id/blocked",
    auth: ["bot", "admin"],
    params: (fx) => ({ id: idOf(fx.spareRaterId) }),
    body: (fx) => fc.record({ blocked: fc.boolean(), byRaterId: fc.constant(fx.adminRaterId) }),
  },
  {
    method: "POST",
    path: "/v1/raters/:id/web-logins",
    auth: ["admin"],
    params: (fx) => ({ id: idOf(fx.spareRaterId) }),
    body: () => record({ label: maybe(text(20)) }),
  },
  {
    method: "DELETE",
    path: "/v1/raters/:id/web-logins/:loginId",
    auth: ["admin"],
    params: (fx) => ({ id: idOf(fx.spareRaterId), loginId: idOf(fx.spareLoginId) }),
  },
  {
    method: "GET",
    path: "/v1/tasks/next",
    auth: ["bot", "admin"],
    query: (fx) =>
      query({
        raterId: idOf(fx.raterId),
        kind: maybe(oneOf(["score", "rank", "any"])),
        exclude: maybe(fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 5 }).map((a) => a.join(","))),
      }),
  },
  {
    method: "POST",
    path: "/v1/scores",
    auth: ["bot", "admin"],
    body: (fx) =>
      fc.record({
        raterId: fc.constant(fx.raterId),
        completionId: oneOf(fx.completionIds),
        value: fc.double({ min: 0, max: 1, noNaN: true }),
        source: oneOf(LABEL_SOURCES),
      }),
  },
  {
    method: "GET",
    path: "/v1/scores",
    auth: ANY,
    query: (fx) => query({ ...paging, raterId: maybe(idOf(fx.raterId)), completionId: maybe(idOf(fx.completionIds[0]!)) }),
  },
  {
    method: "POST",
    path: "/v1/score",
    auth: ANY,
    body: () =>
      fc
        .array(text(), { minLength: 1, maxLength: 3 })
        .chain((texts) => record({ texts: fc.constant(texts), prompts: maybe(fc.constant(texts.map(() => "p"))) })),
  },
  {
    method: "POST",
    path: "/v1/rankings",
    auth: ["bot", "admin"],
    body: (fx) =>
      completionsOf(fx).chain((completionIds) =>
        record({
          raterId: fc.constant(fx.raterId),
          promptId: fc.constant(fx.promptId),
          completionIds: fc.constant(completionIds),
          levels: maybe(fc.constant(completionIds.map((_, i) => i))),
          source: oneOf(LABEL_SOURCES),
        }),
      ),
  },
  { method: "GET", path: "/v1/rankings", auth: ANY, query: (fx) => query({ ...paging, raterId: maybe(idOf(fx.raterId)), promptId: maybe(idOf(fx.promptId)) }) },
  { method: "GET", path: "/v1/rankings/:id", auth: ANY, params: (fx) => ({ id: idOf(fx.rankingId) }) },
  {
    method: "GET",
    path: "/v1/exports/rankings.tsv",
    auth: ANY,
    query: (fx) => query({ since: maybe(instant), until: maybe(instant), checkpointId: maybe(idOf(fx.policyCheckpointId)) }),
  },
  { method: "GET", path: "/v1/exports/pairs.jsonl", auth: ["trainer", "admin"], query: () => query({ since: maybe(instant) }) },
  {
    method: "POST",
    path: "/v1/leases",
    auth: ["trainer"],
    body: () =>
      record({
        holder: text(20),
        limit: maybe(fc.integer({ min: 1, max: 2000 })),
        ttlSeconds: maybe(fc.integer({ min: 1, max: 86_400 })),
        kinds: maybe(fc.subarray(["score", "ranking"], { minLength: 1 })),
      }),
  },
  { method: "GET", path: "/v1/leases/:id", auth: ["trainer"], params: (fx) => ({ id: fc.constant(fx.leaseId) }) },
  {
    method: "POST",
    path: "/v1/leases/:id/ack",
    auth: ["trainer"],
    params: (fx) => ({ id: fc.constant(fx.leaseId) }),
    body: () =>
      record({
        rankingIds: maybe(fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 3 })),
        scoreIds: maybe(fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 3 })),
        releaseReason: maybe(text(20)),
      }),
  },
  {
    method: "POST",
    path: "/v1/leases/:id/extend",
    auth: ["trainer"],
    params: (fx) => ({ id: fc.constant(fx.leaseId) }),
    body: () => fc.record({ ttlSeconds: fc.integer({ min: 1, max: 86_400 }) }),
  },
  {
    method: "POST",
    path: "/v1/leases/:id/release",
    auth: ["trainer"],
    params: (fx) => ({ id: fc.constant(fx.leaseId) }),
    body: () => fc.record({ reason: text(20) }),
  },
  {
    method: "GET",
    path: "/v1/labels",
    auth: ["trainer", "admin"],
    query: (fx) =>
      query({
        kind: oneOf(["ranking", "score"]),
        lease: maybe(fc.constant(fx.leaseId)),
        cursor: paging.cursor,
        limit: maybe(digits(fc.integer({ min: 1, max: 500 }))),
      }),
  },
  {
    method: "POST",
    path: "/v1/checkpoints",
    auth: ["trainer", "admin"],
    body: (fx) =>
      record({
        kind: oneOf(CHECKPOINT_KINDS),
        sha256: hex64,
        sizeBytes: fc.integer({ min: 1, max: 1000 }),
        metrics: maybe(fc.dictionary(text(8), fc.double({ noNaN: true, noDefaultInfinity: true }), { maxKeys: 3 })),
        config: maybe(fc.dictionary(text(8), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 })),
        trainingRunId: maybe(fc.constant(fx.runId)),
        rejectedReason: maybe(text(30)),
      }),
  },
  {
    method: "GET",
    path: "/v1/checkpoints",
    auth: ANY,
    query: () => query({ kind: maybe(oneOf(CHECKPOINT_KINDS)), status: maybe(oneOf(["pending", "ready"])) }),
  },
  { method: "GET", path: "/v1/checkpoints/active/:kind", auth: ANY, params: () => ({ kind: oneOf(CHECKPOINT_KINDS) }) },
  { method: "GET", path: "/v1/checkpoints/reference/:kind", auth: ANY, params: () => ({ kind: oneOf(CHECKPOINT_KINDS) }) },
  { method: "GET", path: "/v1/checkpoints/:id", auth: ANY, params: (fx) => ({ id: oneOf([fx.policyCheckpointId, fx.rewardCheckpointId].map(String)) }) },
  {
    method: "PUT",
    path: "/v1/checkpoints/:id/file",
    auth: ["trainer", "admin"],
    params: (fx) => ({ id: oneOf([fx.policyCheckpointId, fx.rewardCheckpointId].map(String)) }),
    raw: true,
  },
  { method: "GET", path: "/v1/checkpoints/:id/file", auth: ANY, params: (fx) => ({ id: oneOf([fx.policyCheckpointId, fx.rewardCheckpointId].map(String)) }) },
  {
    method: "POST",
    path: "/v1/checkpoints/:id/activate",
    auth: ["trainer", "admin"],
    params: (fx) => ({ id: oneOf([fx.policyCheckpointId, fx.rewardCheckpointId].map(String)) }),
  },
  {
    method: "POST",
    path: "/v1/checkpoints/:id/reference",
    auth: ["admin"],
    params: (fx) => ({ id: oneOf([fx.policyCheckpointId, fx.rewardCheckpointId].map(String)) }),
  },
  { method: "POST", path: "/v1/training-runs", auth: ["admin"], body: () => record({ kind: maybe(oneOf(RUN_KINDS)) }) },
  {
    method: "GET",
    path: "/v1/training-runs",
    auth: ANY,
    query: () => query({ status: maybe(oneOf(RUN_STATUSES)), limit: maybe(digits(fc.integer({ min: 1, max: 200 }))) }),
  },
  { method: "POST", path: "/v1/training-runs/claim", auth: ["trainer"], body: () => fc.record({ trainer: text(20) }) },
  { method: "GET", path: "/v1/training-runs/:id", auth: ANY, params: (fx) => ({ id: idOf(fx.runId) }) },
  {
    method: "PATCH",
    path: "/v1/training-runs/:id",
    auth: ["trainer", "admin"],
    params: (fx) => ({ id: idOf(fx.runId) }),
    body: () =>
      record({
        status: oneOf(RUN_STATUSES),
        metrics: maybe(fc.dictionary(text(8), fc.double({ noNaN: true, noDefaultInfinity: true }), { maxKeys: 3 })),
        summary: maybe(text()),
        error: maybe(text()),
      }),
  },
  {
    method: "POST",
    path: "/v1/gold-groups",
    auth: ["admin"],
    body: (fx) => completionsOf(fx).chain((completionIds) => record({ promptId: fc.constant(fx.promptId), completionIds: fc.constant(completionIds) })),
  },
  {
    method: "GET",
    path: "/v1/gold-groups",
    auth: ["trainer", "admin"],
    query: () => query({ limit: maybe(digits(fc.integer({ min: 1, max: 500 }))), cursor: maybe(digits(fc.integer({ min: 1, max: 100_000 }))) }),
  },
  { method: "GET", path: "/v1/gold-groups/:id", auth: ["trainer", "admin"], params: (fx) => ({ id: idOf(fx.goldGroupId) }) },
  { method: "DELETE", path: "/v1/gold-groups/:id", auth: ["admin"], params: (fx) => ({ id: idOf(fx.goldGroupId) }) },
  { method: "GET", path: "/v1/stats", auth: ANY },
  { method: "GET", path: "/v1/stats/raters/:id", auth: ANY, params: (fx) => ({ id: idOf(fx.raterId) }) },
  { method: "GET", path: "/v1/bot-sessions/:key", auth: ["bot", "admin"], params: (fx) => ({ key: fc.constant(fx.sessionKey) }) },
  {
    method: "PUT",
    path: "/v1/bot-sessions/:key",
    auth: ["bot", "admin"],
    params: (fx) => ({ key: fc.constant(fx.sessionKey) }),
    body: () => fc.record({ value: fc.jsonValue({ maxDepth: 4 }) }),
  },
  { method: "DELETE", path: "/v1/bot-sessions/:key", auth: ["bot", "admin"], params: (fx) => ({ key: fc.constant(fx.sessionKey) }) },
  { method: "GET", path: "/app", auth: "public" },
  { method: "GET", path: "/app/app.js", auth: "public" },
  { method: "GET", path: "/app/app.css", auth: "public" },
  // The page sends it: with its Origin (the cookie does not matter).
  {
    method: "POST",
    path: "/app/api/login",
    auth: "page",
    body: (fx) => fc.record({ token: fc.oneof(fc.constant(fx.loginToken), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)) }),
  },
  { method: "POST", path: "/app/api/logout", auth: "page" },
  { method: "GET", path: "/app/api/me", auth: "page" },
  { method: "GET", path: "/app/api/task", auth: "page" },
  {
    method: "POST",
    path: "/app/api/rankings",
    auth: "page",
    body: (fx) =>
      completionsOf(fx).chain((completionIds) =>
        record({ promptId: fc.constant(fx.promptId), completionIds: fc.constant(completionIds), levels: maybe(fc.constant(completionIds.map(() => 0))) }),
      ),
  },
  { method: "GET", path: "/app/api/rankings", auth: "page", query: () => query(paging) },
  { method: "GET", path: "/app/api/rankings.tsv", auth: "page" },
  { method: "GET", path: "/app/api/prompts", auth: "page-admin" },
  { method: "POST", path: "/app/api/prompts", auth: "page-admin", body: () => fc.record({ text: text() }) },
  {
    method: "PATCH",
    path: "/app/api/prompts/:id",
    auth: "page-admin",
    params: (fx) => ({ id: idOf(fx.promptId) }),
    body: () => fc.record({ active: fc.constant(true) }),
  },
  { method: "GET", path: "/app/api/raters-quality", auth: "page-admin" },
  { method: "GET", path: "/app/api/agreement", auth: "page" },
  {
    method: "GET",
    path: "/app/api/runs",
    auth: "page-admin",
    query: () => query({ limit: maybe(digits(fc.integer({ min: 1, max: 60 }))), cursor: paging.cursor }),
  },
  {
    method: "PATCH",
    path: "/app/api/raters/:id",
    auth: "page-admin",
    params: (fx) => ({ id: idOf(fx.spareRaterId) }),
    body: () => fc.record({ blocked: fc.boolean() }),
  },
];

export const routeName = (r: Pick<RouteDef, "method" | "path">) => `${r.method} ${r.path}`;
