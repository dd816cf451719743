import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { discardRest } from "../lib/read-capped.ts";

/** The most of an unread body read and thrown away before answering; past it the connection may be reset (a client sending more than any route takes). */
export const DRAIN_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Reads and discards what is left of a request body the Worker answered without reading
 * (a wrong token, a refused content type, no such route, a route that takes no body), up
 * to DRAIN_MAX_BYTES (a body declared larger is not touched). Under workerd, answering while the client is still sending resets
 * the connection, so the client saw ECONNRESET instead of its 401 (`npm run fuzz` found it,
 * test/unread-request-body.test.ts shows it). Nothing is kept: chunks are dropped as they come.
 */
export const drainUnreadBody = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  const request = c.req.raw;
  if (!request.body || request.bodyUsed) return;
  // A body declared larger than the cap is left unread, as before this middleware: reading
  // part of it and then cancelling made wrangler dev cut the answer's body (the 413 that
  // names the parts route arrived empty, 1 in 3 tries of test/checkpoint-upload-in-parts).
  if (Number(c.req.header("content-length") ?? 0) > DRAIN_MAX_BYTES) return;
  // A client that went away mid-body has no one left to answer: its error is dropped.
  await discardRest(request.body.getReader(), DRAIN_MAX_BYTES).catch(() => {});
});
