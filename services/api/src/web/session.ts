import { and, eq, isNull } from "drizzle-orm";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { raters, webLogins } from "@ranklab/db";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { tokenSha256 } from "../lib/login-token.ts";

/** The cookie that carries a web login token (HttpOnly, SameSite=Strict). */
export const LOGIN_COOKIE = "ranklab_login";

export type WebRater = typeof raters.$inferSelect;
export type WebEnv = AppEnv & { Variables: AppEnv["Variables"] & { rater: WebRater } };

/** The rater a login token belongs to, if the login is live and the rater not blocked. */
export async function raterForToken(db: AppEnv["Variables"]["db"], token: string): Promise<WebRater | undefined> {
  const [row] = await db
    .select({ rater: raters })
    .from(webLogins)
    .innerJoin(raters, eq(raters.id, webLogins.raterId))
    .where(and(eq(webLogins.tokenSha256, await tokenSha256(token)), isNull(webLogins.revokedAt), eq(raters.blocked, false)));
  return row?.rater;
}

/** Lets a page request through only with a live login cookie; the rater is then `c.get("rater")`. */
export const requireWebRater = createMiddleware<WebEnv>(async (c, next) => {
  const token = getCookie(c, LOGIN_COOKIE);
  const rater = token ? await raterForToken(c.get("db"), token) : undefined;
  if (!rater) throw new ApiError(401, "unauthorized", "log in with your ranklab login token");
  c.set("rater", rater);
  await next();
});

/** Page routes for raters whose role is admin (the prompt pool, raters' reliability and blocking, the Runs tab). */
export const requireWebAdmin = createMiddleware<WebEnv>(async (c, next) => {
  if (c.get("rater").role !== "admin") throw new ApiError(403, "forbidden", "only an admin rater may manage prompts and raters or see training runs");
  await next();
});
