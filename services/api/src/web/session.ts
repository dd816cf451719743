import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { raters, webLogins, webSessions } from "@ranklab/db";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { newLoginToken, tokenSha256 } from "../lib/login-token.ts";

/**
 * The cookie that carries a page session id (HttpOnly, SameSite=Strict). With the
 * `__Host-` prefix a browser takes it only with Secure, Path=/ and no Domain, so no
 * sibling subdomain can plant or overwrite it. Browsers treat http://localhost and
 * http://127.0.0.1 as secure contexts and keep Secure cookies there (Chromium does:
 * test/web-page-in-chromium.test.ts logs in over http://127.0.0.1), so only a page served
 * over plain http from another host gets the unprefixed name without Secure.
 */
export const SESSION_COOKIE = "__Host-ranklab_session";
export const INSECURE_SESSION_COOKIE = "ranklab_session";

/** How long a page session lasts from its login (server-side; the cookie's Max-Age says the same). */
export const SESSION_SECONDS = 60 * 60 * 24 * 14;

export type WebRater = typeof raters.$inferSelect;
export type WebEnv = AppEnv & { Variables: AppEnv["Variables"] & { rater: WebRater } };
type Db = AppEnv["Variables"]["db"];

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The cookie name and attributes this request's origin allows (see SESSION_COOKIE). */
export function sessionCookieFor(url: string): { name: string; secure: boolean; path: string } {
  const { protocol, hostname } = new URL(url);
  if (protocol === "https:" || LOOPBACK.has(hostname)) return { name: SESSION_COOKIE, secure: true, path: "/" };
  return { name: INSECURE_SESSION_COOKIE, secure: false, path: "/app" };
}

/**
 * The one value of cookie `name` in a Cookie header: undefined when absent, "ambiguous"
 * when it arrives more than once. A browser sends two cookies of one name when another
 * path or domain planted one beside ours, and it sends the planted one first when its
 * path is longer, so taking the first would let the planter choose the session.
 */
export function onlyCookie(header: string | undefined, name: string): string | "ambiguous" | undefined {
  const values = (header ?? "")
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part.slice(0, part.indexOf("=")) === name)
    .map((part) => part.slice(name.length + 1));
  if (values.length > 1) return "ambiguous";
  return values[0];
}

/** The login a token belongs to, if it is live, its rater not blocked, and (for a single-use login) not used yet. */
export async function loginForToken(db: Db, token: string) {
  const [row] = await db
    .select({ login: webLogins, rater: raters })
    .from(webLogins)
    .innerJoin(raters, eq(raters.id, webLogins.raterId))
    .where(
      and(
        eq(webLogins.tokenSha256, await tokenSha256(token)),
        isNull(webLogins.revokedAt),
        eq(raters.blocked, false),
        or(eq(webLogins.singleUse, false), isNull(webLogins.usedAt)),
      ),
    );
  return row;
}

/**
 * Exchanges a login token for a new page session and sets its cookie. A single-use
 * login is marked used in the same statement that checks it is unused, so two tabs
 * racing with one link get one session between them.
 */
export async function startSession(c: Context<WebEnv>, token: string): Promise<WebRater | undefined> {
  const db = c.get("db");
  const found = await loginForToken(db, token);
  if (!found) return undefined;
  if (found.login.singleUse) {
    const [claimed] = await db
      .update(webLogins)
      .set({ usedAt: new Date() })
      .where(and(eq(webLogins.id, found.login.id), isNull(webLogins.usedAt)))
      .returning({ id: webLogins.id });
    if (!claimed) return undefined;
  }
  const sessionId = newLoginToken();
  await db.insert(webSessions).values({
    sessionSha256: await tokenSha256(sessionId),
    loginId: found.login.id,
    raterId: found.rater.id,
    expiresAt: new Date(Date.now() + SESSION_SECONDS * 1000),
  });
  const { name, secure, path } = sessionCookieFor(c.req.url);
  c.header("set-cookie", `${name}=${sessionId}; Max-Age=${SESSION_SECONDS}; Path=${path}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`, {
    append: true,
  });
  return found.rater;
}

/** Clears the session cookie in the browser (the server-side end is endSession's). */
export function clearSessionCookie(c: Context) {
  const { name, secure, path } = sessionCookieFor(c.req.url);
  c.header("set-cookie", `${name}=; Max-Age=0; Path=${path}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`, { append: true });
}

/** Ends the session this request carries, if any, so its cookie reads nothing from now on. */
export async function endSession(c: Context<WebEnv>): Promise<void> {
  const value = onlyCookie(c.req.header("cookie"), sessionCookieFor(c.req.url).name);
  if (value && value !== "ambiguous") {
    await c
      .get("db")
      .update(webSessions)
      .set({ endedAt: new Date() })
      .where(and(eq(webSessions.sessionSha256, await tokenSha256(value)), isNull(webSessions.endedAt)));
  }
  clearSessionCookie(c);
}

/** The rater of a live session: not ended, not expired, its login not revoked, the rater not blocked. */
async function raterForSession(db: Db, sessionId: string): Promise<WebRater | undefined> {
  const [row] = await db
    .select({ rater: raters })
    .from(webSessions)
    .innerJoin(webLogins, eq(webLogins.id, webSessions.loginId))
    .innerJoin(raters, eq(raters.id, webSessions.raterId))
    .where(
      and(
        eq(webSessions.sessionSha256, await tokenSha256(sessionId)),
        isNull(webSessions.endedAt),
        gt(webSessions.expiresAt, new Date()),
        isNull(webLogins.revokedAt),
        eq(raters.blocked, false),
      ),
    );
  return row?.rater;
}

/** Lets a page request through only with a live session cookie; the rater is then `c.get("rater")`. */
export const requireWebRater = createMiddleware<WebEnv>(async (c, next) => {
  const value = onlyCookie(c.req.header("cookie"), sessionCookieFor(c.req.url).name);
  if (value === "ambiguous") {
    clearSessionCookie(c);
    throw new ApiError(401, "unauthorized", "two session cookies arrived (one was planted beside this page's); log in again");
  }
  const rater = value ? await raterForSession(c.get("db"), value) : undefined;
  if (!rater) throw new ApiError(401, "unauthorized", "log in with your ranklab login token");
  c.set("rater", rater);
  await next();
});

/** Page routes for raters whose role is admin (the prompt pool, raters' reliability and blocking, the Runs tab). */
export const requireWebAdmin = createMiddleware<WebEnv>(async (c, next) => {
  if (c.get("rater").role !== "admin") throw new ApiError(403, "forbidden", "only an admin rater may manage prompts and raters or see training runs");
  await next();
});
