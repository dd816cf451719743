import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { buildPageAssets } from "./page/assets.ts";
import { faultyScorer } from "./test/faulty-scorer.ts";
import { TEST_TOKENS } from "./test/tokens.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const pageAssetsBuilt = async () => {
  await buildPageAssets();
  return {};
};

// The API's tests run inside workerd against a real local D1 and R2, configured from
// the same wrangler.toml that deploys it; setup applies the drizzle-kit migrations.
export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      // wrangler.toml's [assets] directory (the page's chart library) must exist; wrangler builds it only for dev and deploy.
      ...(await pageAssetsBuilt()),
      wrangler: { configPath: here("../../wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(here("../../db/migrations")),
          BOT_API_TOKEN: TEST_TOKENS.bot,
          TRAINER_API_TOKEN: TEST_TOKENS.trainer,
          ADMIN_API_TOKEN: TEST_TOKENS.admin,
          MIN_NEW_LABELS_FOR_RUN: "3",
          MAX_CHECKPOINT_BYTES: String(32 * 1024 * 1024),
          // R2's smallest part, so a test archive of a few parts stays small.
          CHECKPOINT_PART_BYTES: String(5 * 1024 * 1024),
          // A scorer that answers correctly (test/faulty-scorer.ts); tests of other answers set SCORER_URL per request.
          SCORER_URL: "http://scorer.test/good",
        },
        // The Worker's outbound fetches (only /v1/score's, to SCORER_URL) reach a test scorer that can answer wrongly on purpose.
        outboundService: faultyScorer,
      },
    })),
  ],
  test: {
    name: "api",
    include: ["src/**/*.test.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
  },
});
