import { defineConfig } from "vitest/config";

// The trainer's unit and model tests run in Node on the backends that install
// everywhere (wasm, cpu), with tiny models the tests make.
export default defineConfig({
  test: {
    name: "gpu-trainer",
    include: ["src/**/*.test.ts"],
    testTimeout: 60_000,
    // Setup hooks spawn the CLI (tsx) or train a tiny model: seconds on a busy machine, past the 10 s default.
    hookTimeout: 60_000,
  },
});
