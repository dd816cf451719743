import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { discardRest, readCapped } from "../lib/read-capped.ts";

/** How much of a refused chunked body is read and thrown away before the 413 (Cloudflare caps bodies at 100 MB anyway). */
const DRAIN_MAX_BYTES = 128 * 1024 * 1024;

/**
 * Refuses a body larger than `maxBytes` with 413: by its Content-Length when it has one,
 * else (chunked) by counting while reading it into memory. Unlike Hono's bodyLimit it
 * reads the rest of a refused chunked body before answering: under wrangler dev, a
 * Worker that answers while a chunked body is half read makes the next request hang
 * (scripts/wrangler-dev-413.ts shows it with a Worker of a few lines).
 */
export function limitBody(maxBytes: number) {
  const tooLarge = () => new ApiError(413, "payload_too_large", `request body exceeds ${maxBytes} bytes`);
  return createMiddleware<AppEnv>(async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const declared = c.req.header("content-length");
    if (declared !== undefined && !c.req.header("transfer-encoding")) {
      if (Number(declared) > maxBytes) throw tooLarge();
      return next();
    }
    const { bytes, size, reader } = await readCapped(body, maxBytes);
    if (!bytes) {
      await discardRest(reader, DRAIN_MAX_BYTES - size).catch(() => {});
      throw tooLarge();
    }
    c.req.raw = new Request(c.req.raw, { body: bytes });
    await next();
  });
}
