import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "labeler-bot",
    environment: "node",
    include: ["src/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
