import { defineConfig } from "vitest/config";

// The trainer's unit and model tests run in Node on the backends that install
// everywhere (wasm, cpu), with tiny models the tests make.
export default defineConfig({
  test: {
    name: "gpu-trainer",
    include: ["src/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
