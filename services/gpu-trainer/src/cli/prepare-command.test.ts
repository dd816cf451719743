import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { UserError } from "../errors.ts";
import { preparedPaths } from "../prepare/prepare.ts";
import { prepareCommand } from "./ppo-commands.ts";

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("prepare --engine", () => {
  it("rejects an engine other than onnx or tfjs", async () => {
    await expect(prepareCommand(["--engine", "torch"])).rejects.toThrow(UserError);
    await expect(prepareCommand(["--engine", "torch"])).rejects.toThrow(/--engine must be onnx or tfjs, got "torch"/);
  });

  it("pretrains the policy on the engine it names, over the config file's choice, and records it in the recipe", async () => {
    const home = mkdtempSync(join(tmpdir(), "ranklab-prepare-engine-"));
    const config = join(home, "config.json");
    const tiny = { n_embd: 16, n_layer: 1, n_head: 2, train: { epochs: 1, maxLength: 24, engine: "onnx" } };
    writeFileSync(config, JSON.stringify({ reviews: 100, policy: tiny, classifier: { hidden_size: 16, layers: 1, heads: 2, train: { epochs: 1, maxLength: 24 } } }));
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    await prepareCommand(["--home", home, "--config", config, "--engine", "tfjs", "--quiet"]);
    const printed = log.mock.calls.flat().join("\n");
    log.mockRestore();
    expect(printed).toMatch(/pretraining GPT-2 .* on tfjs/);
    const stamp = JSON.parse(readFileSync(preparedPaths(home).stamp, "utf8")) as { recipe: string };
    const recipe = JSON.parse(stamp.recipe) as { policy: { n_embd: number; train: { engine: string; maxLength: number } } };
    expect(recipe.policy.train.engine).toBe("tfjs");
    // The rest of the file's policy section is kept.
    expect(recipe.policy.n_embd).toBe(16);
    expect(recipe.policy.train.maxLength).toBe(24);
  });
});
