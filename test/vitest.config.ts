import { defineConfig } from "vitest/config";

// Cross-service tests: they start real services on loopback (added with the bot and trainer).
export default defineConfig({
  test: { name: "cross-service", include: ["test/**/*.test.ts"], passWithNoTests: true },
});
