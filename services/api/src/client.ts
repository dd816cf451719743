import { hc } from "hono/client";
import type { AppType } from "./app.ts";

/**
 * A typed client for the API: routes, bodies and answers are checked by TypeScript
 * against the Worker's own route definitions.
 * @example
 *   const api = createApiClient("http://127.0.0.1:8787", process.env.TRAINER_API_TOKEN!);
 *   const res = await api.v1.leases.$post({ json: { holder: "trainer-1", limit: 64 } });
 */
export function createApiClient(baseUrl: string, token: string, fetchImpl?: typeof fetch) {
  return hc<AppType>(baseUrl, {
    headers: { authorization: `Bearer ${token}` },
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}

export type ApiClient = ReturnType<typeof createApiClient>;
