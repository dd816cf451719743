import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { UserError } from "../errors.ts";
import { preparedPaths, readPreparedPrompts, SEED_PROMPTS } from "../prepare/prepare.ts";
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
    writeFileSync(
      config,
      JSON.stringify({ reviews: 100, policy: tiny, classifier: { hidden_size: 16, layers: 1, heads: 2, train: { epochs: 1, maxLength: 24 } } }),
    );
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

describe("prepare --corpus", () => {
  const tiny = {
    policy: { n_embd: 16, n_layer: 1, n_head: 2, train: { epochs: 1, maxLength: 24 } },
    classifier: { hidden_size: 16, layers: 1, heads: 2, train: { epochs: 1, maxLength: 24 } },
    corpusOptions: { heldOutFraction: 0.3 },
  };
  /** Small corpora written here: 60 reviews each, half positive. */
  function corpora(dir: string): [string, string] {
    const a = join(dir, "a.csv");
    const b = join(dir, "b.csv");
    writeFileSync(
      a,
      `label,review\n${Array.from({ length: 60 }, (_, i) => (i % 2 ? `1,第${i}份外卖很快，好吃，味道足` : `0,第${i}份外卖太慢了，凉了，不会再点`)).join("\n")}\n`,
    );
    writeFileSync(
      b,
      `cat,label,review\n${Array.from({ length: 60 }, (_, i) => (i % 2 ? `书籍,1,"这本书第${i}章写得真好,值得一读"` : `书籍,0,"这本书第${i}章印刷很差,错字多"`)).join("\n")}\n`,
    );
    return [a, b];
  }
  const stampOf = (home: string) =>
    JSON.parse(readFileSync(preparedPaths(home).stamp, "utf8")) as { recipe: string; corpus?: { path: string; bytes: number; sha256: string }[] };

  it("takes several files after one --corpus, records their identity, and writes the prompts", async () => {
    const home = mkdtempSync(join(tmpdir(), "ranklab-prepare-corpus-cli-"));
    const [a, b] = corpora(home);
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    await prepareCommand(["--home", home, "--config", JSON.stringify(tiny), "--corpus", a, b, "--quiet"]);
    log.mockRestore();
    const stamp = stampOf(home);
    expect(stamp.corpus?.map((c) => c.path)).toEqual([a, b]);
    expect(stamp.corpus?.[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(stamp.recipe).corpus).toEqual(stamp.corpus);
    const prompts = readPreparedPrompts(home);
    expect(prompts.slice(0, 4)).toEqual(SEED_PROMPTS);
    expect(prompts.length).toBeGreaterThan(4);
  }, 120_000);

  it("takes the corpus from the config file's `corpus` field too", async () => {
    const home = mkdtempSync(join(tmpdir(), "ranklab-prepare-corpus-config-"));
    const [a] = corpora(home);
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    await prepareCommand(["--home", home, "--config", JSON.stringify({ ...tiny, corpus: [a] }), "--quiet"]);
    log.mockRestore();
    expect(stampOf(home).corpus?.map((c) => c.path)).toEqual([a]);
  }, 120_000);

  it("refuses a stray argument without --corpus", async () => {
    await expect(prepareCommand(["reviews.csv"])).rejects.toThrow(/prepare: unexpected argument "reviews.csv" \(corpus files follow --corpus\)/);
  });
});
