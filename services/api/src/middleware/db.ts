import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import * as schema from "@ranklab/db";
import type { AppEnv } from "../env.ts";

/** Builds the drizzle client once per request and puts it on the context as `db`. */
export const withDb = createMiddleware<AppEnv>(async (c, next) => {
  c.set("db", drizzle(c.env.DB, { schema }));
  await next();
});
