import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { callJson } from "./helpers.ts";

/**
 * Calls the page's API with a login cookie (no bearer token: the page never has one), as
 * the page in a browser does: with its own Origin unless `headers` say otherwise.
 */
export async function page(method: string, path: string, options: { cookie?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = options.headers ?? { origin: "https://api.test" };
  if (options.cookie) headers.cookie = options.cookie;
  if (options.json !== undefined || options.body !== undefined) headers["content-type"] = "application/json";
  return SELF.fetch(`https://api.test/app/api${path}`, {
    method,
    headers,
    body: options.body ?? (options.json === undefined ? undefined : JSON.stringify(options.json)),
  });
}

/** The body as JSON, untyped: the tests check its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const body = async (res: Response): Promise<any> => res.json();

export async function loginAs(externalId: string, role: "rater" | "admin" = "rater") {
  const rater = await callJson("POST", "/v1/raters", 201, { as: "bot", json: { externalId } });
  if (role === "admin") await callJson("PATCH", `/v1/raters/${rater.id}`, 200, { json: { role: "admin" } });
  const login = await callJson("POST", `/v1/raters/${rater.id}/web-logins`, 201, { json: { label: "laptop" } });
  const res = await page("POST", "/login", { json: { token: login.token } });
  expect(res.status).toBe(200);
  const cookie = res.headers.get("set-cookie")!;
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  return { rater, login, cookie: cookie.split(";")[0]! };
}
