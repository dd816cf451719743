import { defineConfig } from "drizzle-kit";

// drizzle-kit writes plain SQL files into db/migrations; wrangler applies them
// (`wrangler d1 migrations apply DB --local`) and the tests apply the same files.
export default defineConfig({
  dialect: "sqlite",
  schema: "./db/src/schema.ts",
  out: "./db/migrations",
});
