import { zValidator } from "@hono/zod-validator";
import type { Context, ValidationTargets } from "hono";
import type { ZodType } from "zod";
import { ApiError } from "../errors.ts";
import { documentValidator } from "../openapi.ts";

/** What Hono's own json validator reads as JSON; any other type it silently reads as `{}`. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Refuses a body that is not declared JSON (415). Hono's validator reads a body of any
 * other type (text/plain is what `fetch` sends for a string) as `{}`, and `{}` means
 * "everything" on some routes (acknowledge all of a lease's labels, a full training run).
 * A request without a body and without a Content-Type is still `{}`.
 */
function refuseNonJson(c: Context) {
  const type = c.req.header("content-type");
  const media = type?.split(";")[0]?.trim() ?? "";
  const hasBody = c.req.raw.body !== null && c.req.header("content-length") !== "0";
  if (type === undefined ? !hasBody : JSON_MEDIA_TYPE.test(media)) return;
  throw new ApiError(
    415,
    "unsupported_media_type",
    type === undefined
      ? "the request has a body but no Content-Type; send it as JSON with Content-Type: application/json"
      : `Content-Type ${media || "(empty)"} is not JSON; send the body as JSON with Content-Type: application/json`,
  );
}

/**
 * `zValidator` with the API's one 400 shape: every zod issue becomes
 * `{path, message}` so a client sees all that is wrong at once.
 */
export function validate<Target extends keyof ValidationTargets, Schema extends ZodType>(target: Target, schema: Schema) {
  const middleware = zValidator(target, schema, (result) => {
    if (!result.success) {
      const issues = result.error.issues.map((issue) => ({
        path: issue.path.map(String).join(".") || "(root)",
        message: issue.message,
      }));
      throw new ApiError(400, "invalid_request", `invalid ${target}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
    }
  });
  // A json target first refuses a body of another type, which zValidator would read as `{}`.
  const checked = (
    target === "json"
      ? async (c: Context, next: () => Promise<void>) => {
          refuseNonJson(c);
          return middleware(c as never, next);
        }
      : middleware
  ) as typeof middleware;
  // The same schema describes the route in /openapi.json.
  return documentValidator(checked, target, schema);
}
