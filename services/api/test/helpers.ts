import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import { TABLES } from "./tables.ts";
import { TEST_TOKENS } from "./tokens.ts";

export type Role = keyof typeof TEST_TOKENS;

export interface CallOptions {
  as?: Role | null;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

/** Calls the real Worker (its fetch handler inside workerd) with a role's bearer token. */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  const role = options.as === undefined ? "admin" : options.as;
  if (role) headers.authorization = `Bearer ${TEST_TOKENS[role]}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  return SELF.fetch(`https://api.test${path}`, { method, headers, body });
}

/** Calls and returns the parsed JSON, asserting the status first (the body is shown when it differs). */
export async function callJson<T = any>(method: string, path: string, status: number, options: CallOptions = {}): Promise<T> {
  const res = await call(method, path, options);
  const text = await res.text();
  expect(`${res.status} ${text}`).toMatch(new RegExp(`^${status} `));
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Asserts the API's one error shape and code. */
export async function expectError(res: Response, status: number, code: string) {
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  expect(body.error.message).toEqual(expect.any(String));
  return body.error;
}

/** Rows per table, in one statement. */
export async function rowCounts(db: D1Database = env.DB): Promise<Record<string, number>> {
  const row = await db.prepare(`SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(", ")}`).first<Record<string, number>>();
  return { ...row! };
}

/** Runs `act` and asserts that no table gained or lost a row. */
export async function expectNothingStored(act: () => Promise<unknown>) {
  const before = await rowCounts();
  await act();
  expect(await rowCounts()).toEqual(before);
}

/** `levels` objects nested in each other, as JSON text (a 100,000-level value cannot be built or printed recursively). */
export const nestedJson = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

let unique = 0;
/** A text no other test in this file uses (prompts are unique by text). */
export const uniqueText = (base: string) => `${base}#${++unique}-${Math.random().toString(36).slice(2, 8)}`;

export interface Fixture {
  promptId: number;
  completionIds: number[];
}

/** A prompt with `n` completions, through the API as the trainer would post them. */
export async function promptWithCompletions(n = 4, promptText = uniqueText("刚收到货，感觉有")): Promise<Fixture> {
  const { prompts } = await callJson("POST", "/v1/prompts", 201, { json: { prompts: [{ text: promptText }] } });
  const promptId = prompts[0].id as number;
  const { completions } = await callJson("POST", "/v1/completions", 201, {
    as: "trainer",
    json: { completions: Array.from({ length: n }, (_, i) => ({ promptId, text: `${promptText} 续写${i}` })) },
  });
  return { promptId, completionIds: completions.map((c: { id: number }) => c.id) };
}

export async function rater(name = uniqueText("r").replace(/[^A-Za-z0-9_-]/g, "_")): Promise<number> {
  const body = await callJson("POST", "/v1/raters", 201, { as: "bot", json: { externalId: `tg:${name}` } });
  return body.id as number;
}
