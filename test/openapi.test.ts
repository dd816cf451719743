import { Validator } from "@seriousme/openapi-schema-validator";
import { app } from "@ranklab/api";
import { describe, expect, it } from "vitest";

// The API's /openapi.json, generated from its routes and their zod schemas, checked as
// OpenAPI 3.1 in Node (the validator compiles JSON Schemas to code, which workerd forbids).
type Operation = {
  "x-roles"?: string[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: { required?: string[] } }> };
  security?: unknown[];
};
type Spec = { openapi: string; paths: Record<string, Record<string, Operation>> };

const spec = async () => (await (await app.request("/openapi.json")).json()) as Spec;
const validate = async (document: unknown) => new Validator().validate(document as Record<string, unknown>);

describe("GET /openapi.json", () => {
  it("validates as OpenAPI 3.1, and the validator does refuse a broken document", async () => {
    const document = await spec();
    const result = await validate(document);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(document.openapi).toBe("3.1.0");
    // A path parameter that is not required breaks OpenAPI's rules: the check must see it.
    const broken = structuredClone(document);
    broken.paths["/v1/prompts/{id}"]!.get!.parameters![0]!.required = false;
    expect((await validate(broken)).valid).toBe(false);
  });

  it("lists every route the app holds, each method under its path", async () => {
    const document = await spec();
    const listed = new Set(Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const routes = new Set(
      app.routes.filter((r) => r.method !== "ALL" && !r.path.includes("*")).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    expect([...listed].sort()).toEqual([...routes].sort());
    expect(listed.size).toBeGreaterThan(40);
    for (const route of [
      "POST /v1/score",
      "POST /v1/scores",
      "POST /v1/rankings",
      "GET /v1/tasks/next",
      "POST /v1/leases/{id}/ack",
      "PUT /v1/checkpoints/{id}/file",
      "GET /v1/labels",
      "POST /app/api/login",
    ]) {
      expect(listed).toContain(route);
    }
  });

  it("describes each route's input from the zod schema its validator checks", async () => {
    const { paths } = await spec();
    // Every write takes a body, except these, which act on the path alone.
    const bodiless = new Set([
      "POST /v1/checkpoints/{id}/activate",
      "POST /v1/checkpoints/{id}/reference",
      "POST /v1/checkpoints/{id}/uploads",
      "POST /v1/checkpoints/{id}/uploads/{uploadId}/complete",
      "POST /app/api/logout",
    ]);
    for (const [path, ops] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const key = `${method.toUpperCase()} ${path}`;
        if (["POST", "PUT", "PATCH"].includes(method.toUpperCase()) && !bodiless.has(key)) expect(op.requestBody, key).toBeDefined();
        for (const name of path.match(/\{(\w+)\}/g) ?? [])
          expect(
            op.parameters?.map((p) => `${p.in}:${p.name}`),
            key,
          ).toContain(`path:${name.slice(1, -1)}`);
        expect(op.security, key).toEqual(path.startsWith("/v1/") ? [{ bearer: [] }] : expect.any(Array));
        if (path.startsWith("/v1/")) expect(op["x-roles"], key).toEqual(expect.arrayContaining([expect.stringMatching(/^(bot|trainer|admin)$/)]));
      }
    }
    // Who may call, from the guard each route uses.
    expect(paths["/v1/leases"]!.post!["x-roles"]).toEqual(["trainer"]);
    expect(paths["/v1/scores"]!.post!["x-roles"]).toEqual(["bot", "admin"]);
    expect(paths["/v1/prompts/{id}"]!.patch!["x-roles"]).toEqual(["admin"]);
    expect(paths["/v1/score"]!.post!["x-roles"]).toEqual(["bot", "trainer", "admin"]);
    expect(paths["/health"]!.get!["x-roles"]).toBeUndefined();
    expect(paths["/v1/scores"]!.post!.requestBody!.content["application/json"]!.schema.required).toEqual(
      expect.arrayContaining(["raterId", "completionId", "value"]),
    );
    expect(paths["/v1/tasks/next"]!.get!.parameters).toContainEqual(expect.objectContaining({ name: "raterId", in: "query", required: true }));
    expect(paths["/v1/tasks/next"]!.get!.parameters).toContainEqual(expect.objectContaining({ name: "exclude", in: "query", required: false }));
  });
});
