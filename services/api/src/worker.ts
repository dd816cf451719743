import { app } from "./app.ts";
import type { Env } from "./env.ts";
import { onSchedule } from "./scheduled.ts";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(onSchedule(env));
  },
} satisfies ExportedHandler<Env>;
