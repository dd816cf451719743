import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

/**
 * Only the page's own files run and load: no inline script or style, no plugins, no
 * framing by any site (the page acts with its login cookie, so a frame could be
 * click-jacked), forms and fetches to this origin only.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers on every /app response: the CSP, no MIME sniffing, no framing (X-Frame-Options for browsers without frame-ancestors). */
export const pageSecurityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.header("Content-Security-Policy", PAGE_CSP);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("X-Frame-Options", "DENY");
  c.header("Referrer-Policy", "same-origin");
});

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses a state-changing page request (logout included) that a browser did not send
 * from the page itself: Sec-Fetch-Site, when sent, must be `same-origin`, and Origin,
 * when sent, must be this origin; a request with neither is refused too (every current
 * browser sends Origin on POST, PUT, PATCH and DELETE). SameSite=Strict alone lets a
 * same-site page (another subdomain) through, and logout has no cookie check at all.
 */
export const sameOriginOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!SAFE_METHODS.has(c.req.method)) {
    const site = c.req.header("sec-fetch-site");
    const origin = c.req.header("origin");
    const own = new URL(c.req.url).origin;
    if ((site === undefined && origin === undefined) || (site !== undefined && site !== "same-origin") || (origin !== undefined && origin !== own)) {
      throw new ApiError(403, "forbidden", `a ${c.req.method} to the page's API must come from the page itself (Origin ${own} or Sec-Fetch-Site: same-origin)`);
    }
  }
  await next();
});
