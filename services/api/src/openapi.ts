import type { ValidationTargets } from "hono";
import { z, type ZodType } from "zod";

/**
 * OpenAPI 3.1 generated from the app itself: every route Hono holds becomes an
 * operation, and the zod schema each `validate()` checks becomes its request body,
 * query or path parameters (`z.toJSONSchema`, whose draft 2020-12 is OpenAPI 3.1's
 * schema dialect). So the document cannot drift from the routes, and no route needs a
 * second definition. Response bodies are typed by TypeScript (`hc<AppType>`), not by
 * zod; routes with a zod answer (e.g. `/v1/score`) name it in `RouteDoc.answer`.
 */

type Target = keyof ValidationTargets;

/** The schemas validators check, by the middleware function that checks them. */
const checkedBy = new WeakMap<object, { target: Target; schema: ZodType }>();

/** The roles a guard middleware lets through, by the middleware. */
const guardedBy = new WeakMap<object, readonly string[]>();

/** Records which roles a guard admits, so the document can say who may call a route (`x-roles`). */
export function documentRoles<M extends object>(middleware: M, roles: readonly string[]): M {
  guardedBy.set(middleware, roles);
  return middleware;
}

/** Records what a validator middleware checks, so the document can describe it. */
export function documentValidator<M extends object>(middleware: M, target: Target, schema: ZodType): M {
  checkedBy.set(middleware, { target, schema });
  return middleware;
}

/** What the code cannot say about a route by itself. */
export interface RouteDoc {
  summary?: string;
  description?: string;
  /** The success status and the zod schema of its body. */
  answer?: { status: number; description: string; schema: ZodType; example?: unknown };
  /** A body that is not JSON, e.g. a checkpoint archive or a TSV export. */
  requestContent?: string;
  responseContent?: string;
  requestExample?: unknown;
}

export interface OpenApiOptions {
  info: { title: string; version: string; description?: string };
  /** Extra words per operation, keyed `"POST /v1/score"` (Hono's path syntax). */
  docs?: Record<string, RouteDoc>;
  securitySchemes?: Record<string, unknown>;
  /** The security requirement of a path (Hono syntax); none: open. */
  security?: (path: string) => Record<string, string[]>[] | undefined;
}

/** The shape of every error answer (see errors.ts). */
const errorBody = z.object({
  error: z.object({
    code: z.string().describe("machine-readable, e.g. invalid_request, not_found, unauthorized"),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

type JsonSchema = { [key: string]: unknown; properties?: Record<string, JsonSchema>; required?: string[] };

/** A request-side JSON Schema (what a client sends: defaults optional, transforms before they run). */
function inputSchema(schema: ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return rest;
}

function outputSchema(schema: ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) as JsonSchema;
  return rest;
}

/** `/v1/raters/:id{[0-9]+}/x` → `/v1/raters/{id}/x`, and the names of its parameters. */
function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const converted = path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?\??/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: converted, params };
}

/** An OpenAPI 3.1 document (only the parts this module writes are typed). */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: OpenApiOptions["info"];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

/** A Hono route entry: several per route (one per middleware and handler), `ALL` for `.use()`. */
interface RouteEntry {
  method: string;
  path: string;
  handler: unknown;
}

/** Hono wraps a sub-app's handler when the sub-app has its own error handler; the original is kept here. */
const COMPOSED_HANDLER = "__COMPOSED_HANDLER";
const unwrap = (handler: unknown): unknown =>
  typeof handler === "function" && COMPOSED_HANDLER in handler ? unwrap((handler as unknown as Record<string, unknown>)[COMPOSED_HANDLER]) : handler;

/**
 * The OpenAPI 3.1 document of a Hono app, from its routes and their validators.
 * @example app.get("/openapi.json", (c) => c.json(openApiDocument(app, { info: { title: "x", version: "1" } })))
 */
export function openApiDocument(app: { routes: readonly RouteEntry[] }, options: OpenApiOptions): OpenApiDocument {
  const operations = new Map<string, { method: string; path: string; checks: { target: Target; schema: ZodType }[]; roles?: readonly string[] }>();
  for (const route of app.routes) {
    if (route.method === "ALL" || route.path.includes("*")) continue; // middleware, not an operation
    const key = `${route.method} ${route.path}`;
    const op = operations.get(key) ?? { method: route.method, path: route.path, checks: [] };
    const handler = unwrap(route.handler) as object;
    const check = checkedBy.get(handler);
    if (check) op.checks.push(check);
    op.roles ??= guardedBy.get(handler);
    operations.set(key, op);
  }

  const paths: Record<string, Record<string, unknown>> = {};
  for (const [key, op] of operations) {
    const doc = options.docs?.[key] ?? {};
    const { path, params } = openApiPath(op.path);
    const parameters: Record<string, unknown>[] = [];
    let requestBody: Record<string, unknown> | undefined;
    const declared = new Set<string>();
    for (const { target, schema } of op.checks) {
      const json = inputSchema(schema);
      if (target === "json") {
        requestBody = { required: true, content: { "application/json": { schema: json, ...(doc.requestExample ? { example: doc.requestExample } : {}) } } };
        continue;
      }
      if (target === "form") {
        requestBody = { required: true, content: { "application/x-www-form-urlencoded": { schema: json } } };
        continue;
      }
      const where = target === "param" ? "path" : target;
      for (const [name, property] of Object.entries(json.properties ?? {})) {
        const { description, ...propertySchema } = property;
        parameters.push({
          name,
          in: where,
          required: where === "path" || (json.required ?? []).includes(name),
          ...(typeof description === "string" ? { description } : {}),
          schema: propertySchema,
        });
        if (where === "path") declared.add(name);
      }
    }
    // Path parameters no validator checks are still part of the path, as strings.
    for (const name of params) if (!declared.has(name)) parameters.push({ name, in: "path", required: true, schema: { type: "string" } });
    if (!requestBody && doc.requestContent)
      requestBody = { required: true, content: { [doc.requestContent]: { schema: { type: "string", format: "binary" } } } };

    const success = doc.answer
      ? {
          [String(doc.answer.status)]: {
            description: doc.answer.description,
            content: { "application/json": { schema: outputSchema(doc.answer.schema), ...(doc.answer.example ? { example: doc.answer.example } : {}) } },
          },
        }
      : { "2XX": { description: "Success", ...(doc.responseContent ? { content: { [doc.responseContent]: { schema: { type: "string" } } } } : {}) } };
    const security = options.security?.(op.path);
    const tag = op.path.startsWith("/v1/") ? op.path.split("/")[2]! : op.path.startsWith("/app") ? "web page" : "service";
    paths[path] ??= {};
    paths[path][op.method.toLowerCase()] = {
      operationId: `${op.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
      tags: [tag],
      ...(doc.summary ? { summary: doc.summary } : {}),
      ...(doc.description || op.roles ? { description: [doc.description, op.roles && `Roles: ${op.roles.join(", ")}.`].filter(Boolean).join("\n\n") } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      ...(security ? { security } : { security: [] }),
      ...(op.roles ? { "x-roles": op.roles } : {}),
      responses: {
        ...success,
        default: {
          description: "An error: `{error: {code, message, issues?}}`",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    };
  }

  return {
    openapi: "3.1.0",
    info: options.info,
    paths,
    components: { schemas: { Error: outputSchema(errorBody) }, securitySchemes: options.securitySchemes ?? {} },
  };
}
