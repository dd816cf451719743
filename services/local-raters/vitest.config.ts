import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "local-raters",
    environment: "node",
    include: ["src/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
