import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** One machine-readable code per kind of failure a client can act on. */
export type ErrorCode =
  | "invalid_request"
  | "malformed_json"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "lease_expired"
  | "checksum_mismatch"
  | "scoring_unavailable"
  | "scorer_failed"
  | "internal";

export interface Issue {
  path: string;
  message: string;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; issues?: Issue[] };
}

/** An expected failure: thrown from handlers, answered as JSON by `onError`. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(status, { message });
  }
}

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);

function errorJson(c: Context, status: ContentfulStatusCode, body: ErrorBody["error"]) {
  return c.json({ error: body } satisfies ErrorBody, status);
}

/** Maps SQLite constraint failures that slipped past explicit checks to 409. */
function constraintMessage(err: unknown): string | undefined {
  const text = err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : "";
  const match = /(UNIQUE|FOREIGN KEY|CHECK) constraint failed[^\n]*/.exec(text);
  return match?.[0];
}

/** The one error handler: JSON for every failure, a generic 500 for the unexpected. */
export function onError(err: Error, c: Context) {
  if (err instanceof ApiError) {
    return errorJson(c, err.status, { code: err.code, message: err.message, issues: err.issues });
  }
  if (err instanceof HTTPException) {
    // Hono's own validator raises 400 for a body that is not JSON.
    const code: ErrorCode =
      err.status === 400 && /JSON/i.test(err.message)
        ? "malformed_json"
        : err.status === 413
          ? "payload_too_large"
          : err.status === 401
            ? "unauthorized"
            : "invalid_request";
    return errorJson(c, err.status, { code, message: err.message || "bad request" });
  }
  const constraint = constraintMessage(err);
  if (constraint) {
    // SQLite's own words name tables and columns; they are logged, not answered.
    console.error(`api: ${c.req.method} ${new URL(c.req.url).pathname}: ${constraint}`);
    return errorJson(c, 409, {
      code: "conflict",
      message: "the request conflicts with stored data (another request may have stored the same thing at once); read it back or try again",
    });
  }
  console.error("api: unexpected error", err);
  return errorJson(c, 500, { code: "internal", message: "internal error" });
}

export function onNotFound(c: Context) {
  return errorJson(c, 404, { code: "not_found", message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` });
}
