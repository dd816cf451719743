import { defineConfig } from "vitest/config";

// Each workspace has its own vitest config (the API's runs inside workerd); cross-service tests live in test/.
export default defineConfig({
  test: {
    projects: ["services/*/vitest.config.ts", "test/vitest.config.ts"],
  },
});
