import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { ZodType } from "zod";
import { ApiError } from "../errors.ts";
import { documentValidator } from "../openapi.ts";

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
  // The same schema describes the route in /openapi.json.
  return documentValidator(middleware, target, schema);
}
