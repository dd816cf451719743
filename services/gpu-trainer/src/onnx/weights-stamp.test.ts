import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { rewardTrain } from "../cli/reward-commands.ts";
import { generateRankLists, toRankTsv } from "../data/review-corpus.ts";
import { loadBertDir, saveBertDir } from "../io/bert-dir.ts";
import { BertConfigSchema, bertParamSpecs } from "../models/bert.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { modelReward } from "../reward-functions/model-rewards.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { OnnxBertScorer } from "./bert-session.ts";
import { exportBertOnnx } from "./export-bert.ts";
import { onnxStaleness, readOnnxMetadata, WEIGHTS_STAMP_KEY, withMetadata } from "./weights-stamp.ts";

const dir = mkdtempSync(join(tmpdir(), "ranklab-onnx-stamp-"));
beforeAll(() => selectBackend("wasm"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

function tinyModel(seed: number) {
  const tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错喜欢失望".split("")];
  const config = BertConfigSchema.parse({
    vocab_size: tokens.length,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 16,
    num_labels: 1,
  });
  return { config, tokenizer: new WordPieceTokenizer(vocabFromTokens(tokens, "tiny")), params: initParams(bertParamSpecs(config), seed, 0.2) };
}

describe("model.onnx weights stamp", () => {
  it("reads back the metadata appended to a model, longer values and several keys included", () => {
    const path = join(dir, "meta.onnx");
    const long = "x".repeat(300);
    writeFileSync(path, withMetadata(Uint8Array.from([0x08, 0x08]), { a: "1", [WEIGHTS_STAMP_KEY]: long }));
    expect([...readOnnxMetadata(path)]).toEqual([
      ["a", "1"],
      [WEIGHTS_STAMP_KEY, long],
    ]);
  });

  it("stamps an export with its weights' sha256; onnxruntime still loads it; other weights make it stale and unopenable", async () => {
    const out = join(dir, "tiny");
    const model = tinyModel(1);
    saveBertDir(out, model);
    exportBertOnnx(out, model);
    expect(readOnnxMetadata(join(out, "model.onnx")).get(WEIGHTS_STAMP_KEY)).toBe(sha256(join(out, "model.safetensors")));
    expect(onnxStaleness(out)).toBeUndefined();
    const scorer = await OnnxBertScorer.open(out, model);
    expect((await scorer.score([{ completion: "很好" }], { maxLength: 8, batchSize: 4 }))[0]).toBeTypeOf("number");
    await scorer.close();

    // New weights over the old ones, as a resumed training writes them: the old graph must not run.
    const other = tinyModel(2);
    saveBertDir(out, other);
    expect(onnxStaleness(out)).toMatch(/made from other weights/);
    await expect(OnnxBertScorer.open(out, other)).rejects.toThrow(/made from other weights.*onnx export/);
    disposeParams(model.params);
    disposeParams(other.params);
  });

  it("an unstamped model.onnx (older ranklab, another tool) is not trusted for a folder with weights", () => {
    const out = join(dir, "unstamped");
    const model = tinyModel(3);
    saveBertDir(out, model);
    writeFileSync(join(out, "model.onnx"), readFileSync(join(dir, "tiny", "model.onnx")).subarray(0, 2));
    expect(onnxStaleness(out)).toMatch(/no weights stamp/);
    disposeParams(model.params);
  });

  it("trains, exports, trains again in place and scores: onnx and tfjs agree", async () => {
    const train = generateRankLists(16, 1);
    writeFileSync(join(dir, "train.tsv"), toRankTsv(train));
    writeFileSync(join(dir, "dev.tsv"), toRankTsv(generateRankLists(8, 2, new Set(train.flatMap((l) => l.texts)))));
    const config = (epochs: number, seed: number) =>
      JSON.stringify({
        maxLength: 32,
        listsPerStep: 8,
        epochs,
        evalEvery: 2,
        seed,
        quiet: true,
        model: { hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, maxVocab: 400 },
      });
    const out = join(dir, "rm");
    const args = (epochs: number, seed: number) => [
      "--train",
      join(dir, "train.tsv"),
      "--dev",
      join(dir, "dev.tsv"),
      "--logs-dir",
      join(dir, "logs"),
      "--out",
      out,
      "--config",
      config(epochs, seed),
    ];
    const texts = ["很好很喜欢", "太差了，失望", "一般"];
    const scoreBoth = async () => {
      const generations = texts.map((response) => ({ prompt: "", response }));
      const onnx = await modelReward(join(out, "best"), { engine: "onnx" });
      const tfjs = await modelReward(join(out, "best"), { engine: "tfjs" });
      try {
        return { onnx: await onnx.score(generations), tfjs: await tfjs.score(generations) };
      } finally {
        await onnx.close?.();
        await tfjs.close?.();
      }
    };

    await rewardTrain(args(1, 1));
    const first = await scoreBoth();
    const stampBefore = readOnnxMetadata(join(out, "best", "model.onnx")).get(WEIGHTS_STAMP_KEY);
    // A second training into the same folder (another seed, more steps) rewrites best/ in place beside the old model.onnx.
    rmSync(join(out, "last"), { recursive: true, force: true });
    await rewardTrain(args(2, 7));
    expect(onnxStaleness(join(out, "best"))).toMatch(/made from other weights/);
    const second = await scoreBoth();
    expect(readOnnxMetadata(join(out, "best", "model.onnx")).get(WEIGHTS_STAMP_KEY)).not.toBe(stampBefore);
    for (const { onnx, tfjs } of [first, second]) onnx.forEach((s, i) => expect(s).toBeCloseTo(tfjs[i]!, 4));
    // The scores moved with the weights (the stale graph would have repeated the first ones).
    expect(second.onnx.some((s, i) => Math.abs(s - first.onnx[i]!) > 1e-3)).toBe(true);
    const model = loadBertDir(join(out, "best"));
    expect(model.config.num_labels).toBe(1);
    disposeParams(model.params);
  }, 120_000);
});
