import { applyD1Migrations, env } from "cloudflare:test";

// The same SQL files `wrangler d1 migrations apply` runs, so tests see the deployed schema.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
