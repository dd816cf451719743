/**
 * OpenAPI 3.1 for the scoring endpoint, served at /openapi.json (the closed loop's
 * public face; the rest of the API is for ranklab's own services and typed by AppType).
 */
export const OPENAPI = {
  openapi: "3.1.0",
  info: { title: "ranklab scoring", version: "1", description: "Reward-model scores from the active reward checkpoint." },
  components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
  security: [{ bearer: [] }],
  paths: {
    "/v1/score": {
      post: {
        summary: "Score texts with the active reward model",
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                type: "object",
                additionalProperties: false,
                required: ["texts"],
                properties: {
                  texts: { type: "array", minItems: 1, maxItems: 64, items: { type: "string", minLength: 1, maxLength: 2000 } },
                  prompts: { type: "array", description: "One per text, when the reward model scores prompt and text as a pair", items: { type: "string", maxLength: 2000 } },
                },
              },
              example: { texts: ["质量很好，非常满意！", "太差了，再也不买了。"] },
            },
          },
        },
        responses: {
          "200": {
            description: "One score per text (higher is better), and the checkpoint that gave them",
            content: { "application/json": { example: { scores: [2.31, -1.87], checkpoint: { id: 3, version: 2, sha256: "…" } } } },
          },
          "400": { description: "Malformed request: `{error: {code, message, issues}}`" },
          "401": { description: "Missing or unknown bearer token" },
          "503": { description: "No scorer configured or reachable, or no reward checkpoint active yet" },
        },
      },
    },
  },
} as const;
