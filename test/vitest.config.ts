import { defineConfig } from "vitest/config";

// Cross-service tests: real services (wrangler dev, and later the bot and trainer) on loopback.
export default defineConfig({
  test: {
    name: "cross-service",
    include: ["**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Each file starts its own services; running them one at a time keeps 2 cores responsive.
    fileParallelism: false,
  },
});
