import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callJson, expectError } from "../../test/helpers.ts";
import { TEST_TOKENS } from "../../test/tokens.ts";
import { body, loginAs, page } from "../../test/web-helpers.ts";
import { onlyCookie, sessionCookieFor } from "./session.ts";

/** A login token for a fresh rater, made by an admin through /v1. */
async function newLogin(externalId: string, json: Record<string, unknown> = { label: "laptop" }) {
  const rater = await callJson("POST", "/v1/raters", 201, { as: "bot", json: { externalId } });
  return callJson("POST", `/v1/raters/${rater.id}/web-logins`, 201, { json });
}

describe("page sessions", () => {
  it("keeps a random session id in a __Host- cookie, never the login token, with a server-side expiry", async () => {
    const { login, cookie, rater } = await loginAs("web:sess-a");
    const [name, value] = cookie.split("=") as [string, string];
    expect(name).toBe("__Host-ranklab_session");
    expect(value).not.toBe(login.token);
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const res = await page("POST", "/login", { json: { token: login.token } });
    expect(res.headers.get("set-cookie")).toMatch(/; Max-Age=1209600; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
    // Stored as a hash, with an expiry two weeks on.
    const row = await env.DB.prepare("SELECT session_sha256, expires_at FROM web_sessions WHERE rater_id = ? ORDER BY id LIMIT 1")
      .bind(rater.id)
      .first<{ session_sha256: string; expires_at: number }>();
    expect(row!.session_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.expires_at - Date.now()).toBeGreaterThan(13 * 24 * 3600 * 1000);
    // The login token itself opens nothing as a cookie.
    await expectError(await page("GET", "/me", { cookie: `__Host-ranklab_session=${login.token}` }), 401, "unauthorized");
  });

  it("ends the session server-side at logout: the same cookie, replayed, reads nothing", async () => {
    const { cookie } = await loginAs("web:sess-b");
    expect((await page("GET", "/me", { cookie })).status).toBe(200);
    const out = await page("POST", "/logout", { cookie });
    expect(out.status).toBe(200);
    expect(out.headers.get("set-cookie")).toMatch(/^__Host-ranklab_session=; Max-Age=0/);
    await expectError(await page("GET", "/me", { cookie }), 401, "unauthorized");
  });

  it("refuses an expired session", async () => {
    const { cookie, rater } = await loginAs("web:sess-c");
    await env.DB.prepare("UPDATE web_sessions SET expires_at = ? WHERE rater_id = ?")
      .bind(Date.now() - 1000, rater.id)
      .run();
    await expectError(await page("GET", "/me", { cookie }), 401, "unauthorized");
  });

  it("refuses a request carrying two cookies of the name, whichever comes first", async () => {
    const { cookie } = await loginAs("web:sess-d");
    const planted = "__Host-ranklab_session=" + "A".repeat(43);
    for (const both of [`${planted}; ${cookie}`, `${cookie}; ${planted}`, `${cookie}; ${cookie}`]) {
      const res = await page("GET", "/me", { cookie: both });
      await expectError(res, 401, "unauthorized");
    }
    expect((await page("GET", "/me", { cookie })).status).toBe(200);
    expect(onlyCookie("a=1; __Host-x=2; b=3", "__Host-x")).toBe("2");
    expect(onlyCookie("__Host-x=2; __Host-x=3", "__Host-x")).toBe("ambiguous");
    expect(onlyCookie("x__Host-x=2", "__Host-x")).toBeUndefined();
  });

  it("exchanges a single-use login once; the session it gave keeps working", async () => {
    const login = await newLogin("web:sess-e", { label: "link", singleUse: true });
    expect(login.singleUse).toBe(true);
    const first = await page("POST", "/login", { json: { token: login.token } });
    expect(first.status).toBe(200);
    const cookie = first.headers.get("set-cookie")!.split(";")[0]!;
    await expectError(await page("POST", "/login", { json: { token: login.token } }), 401, "unauthorized");
    expect((await body(await page("GET", "/me", { cookie }))).externalId).toBe("web:sess-e");
  });

  it("answers a pasted API token, and a short wrong token, with what to do instead of a schema's text", async () => {
    const api = await page("POST", "/login", { json: { token: TEST_TOKENS.admin } });
    expect(api.status).toBe(401);
    expect((await body(api)).error.message).toMatch(/API bearer token .* not a page login; npm start prints a login link/);
    for (const token of ["abc", ""]) {
      const short = await page("POST", "/login", { json: { token } });
      expect(short.status).toBe(401);
      expect((await body(short)).error.message).toBe("unknown, used or revoked login token");
    }
  });

  it("keeps the __Host- name on https and loopback http, and falls back to a plain cookie elsewhere on http", async () => {
    expect(sessionCookieFor("https://ranklab.example/app/api/login")).toEqual({ name: "__Host-ranklab_session", secure: true, path: "/" });
    expect(sessionCookieFor("http://127.0.0.1:8787/app/api/login")).toEqual({ name: "__Host-ranklab_session", secure: true, path: "/" });
    expect(sessionCookieFor("http://localhost:8787/app/api/login")).toEqual({ name: "__Host-ranklab_session", secure: true, path: "/" });
    expect(sessionCookieFor("http://192.168.1.20:8787/app/api/login")).toEqual({ name: "ranklab_session", secure: false, path: "/app" });
    const login = await newLogin("web:sess-f");
    const res = await SELF.fetch("http://192.168.1.20/app/api/login", {
      method: "POST",
      headers: { origin: "http://192.168.1.20", "content-type": "application/json" },
      body: JSON.stringify({ token: login.token }),
    });
    expect(res.status).toBe(200);
    const set = res.headers.get("set-cookie")!;
    expect(set).toMatch(/^ranklab_session=[A-Za-z0-9_-]{43}; Max-Age=1209600; Path=\/app; HttpOnly; SameSite=Strict$/);
    const me = await SELF.fetch("http://192.168.1.20/app/api/me", { headers: { cookie: set.split(";")[0]! } });
    expect(me.status).toBe(200);
  });
});
