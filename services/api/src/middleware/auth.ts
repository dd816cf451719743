import { createMiddleware } from "hono/factory";
import type { AppEnv, Env, Role } from "../env.ts";
import { ApiError } from "../errors.ts";
import { DRAIN_MAX_BYTES } from "./drain-body.ts";

const TOKEN_BINDINGS: Record<Role, keyof Env> = {
  bot: "BOT_API_TOKEN",
  trainer: "TRAINER_API_TOKEN",
  admin: "ADMIN_API_TOKEN",
};

const encoder = new TextEncoder();

/** Compares in constant time so that response timing leaks nothing about a token. */
function sameToken(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  if (a.byteLength !== b.byteLength) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}

/** The role whose secret matches the bearer token, if any. A role with no secret configured never matches. */
export function roleForToken(env: Env, token: string): Role | undefined {
  for (const [role, binding] of Object.entries(TOKEN_BINDINGS) as [Role, keyof Env][]) {
    const expected = env[binding];
    if (typeof expected === "string" && expected.length > 0 && sameToken(token, expected)) return role;
  }
  return undefined;
}

/**
 * Lets a request through only with a bearer token of one of `roles`. It runs before
 * any body is read, so a rejected request stores nothing.
 */
export function requireRole(...roles: Role[]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new ApiError(401, "unauthorized", "missing bearer token (Authorization: Bearer <token>)");
    const role = roleForToken(c.env, match[1]);
    if (!role) throw new ApiError(401, "unauthorized", "unknown bearer token");
    if (!roles.includes(role)) throw new ApiError(403, "forbidden", `this route needs one of the roles: ${roles.join(", ")}`);
    c.set("role", role);
    await next();
  });
}

const anyToken = requireRole("bot", "trainer", "admin");

/**
 * The token check for all of /v1/*, run before the body limit: an unknown client gets its
 * 401 without the Worker buffering its body. What is left of the body is read and dropped
 * by drainUnreadBody (up to its cap) before the 401 goes out, since under workerd a body
 * cancelled unread resets the connection and the client never sees the 401; a body that
 * declares more than that cap is cancelled at once. Each route's own guard then checks the role.
 */
export const requireToken = createMiddleware<AppEnv>(async (c, next) => {
  try {
    await anyToken(c, async () => {});
  } catch (err) {
    if (Number(c.req.header("content-length") ?? 0) > DRAIN_MAX_BYTES) await c.req.raw.body?.cancel().catch(() => {});
    throw err;
  }
  await next();
});
