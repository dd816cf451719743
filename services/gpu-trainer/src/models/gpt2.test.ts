import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { tfjsDecoder } from "../generation/decoder-tfjs.ts";
import { generate } from "../generation/generate.ts";
import { loadGpt2Dir, saveGpt2Dir, type Gpt2Model } from "../io/gpt2-dir.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { gpt2Forward, gpt2ParamSpecs, Gpt2ConfigSchema } from "./gpt2.ts";
import { initParams } from "./params.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const config = Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 });
// A larger init spreads the logits, so greedy choices are not near-ties.
const tinyModel = (seed = 1): Gpt2Model => ({ config, params: initParams(gpt2ParamSpecs(config, true), seed, 0.3), tokenizer, hasValueHead: true });

/** Logits of a full (uncached) pass over unpadded ids: [T, V]. */
function fullLogits(model: Gpt2Model, ids: number[]): number[][] {
  return tf.tidy(() => {
    const T = ids.length;
    const out = gpt2Forward(model.params, model.config, {
      inputIds: tf.tensor2d([ids], [1, T], "int32"),
      attentionMask: tf.ones([1, T], "int32") as tf.Tensor2D,
      positionIds: tf.tensor2d([ids.map((_, i) => i)], [1, T], "int32"),
    });
    return (out.logits.arraySync() as number[][][])[0]!;
  });
}

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("GPT-2", () => {
  const ids = [2, ...tokenizer.encodeText("这电影很好")];

  it("gives the same logits with the key/value cache as in one full pass", async () => {
    const model = tinyModel();
    const full = fullLogits(model, ids);
    const decoder = tfjsDecoder(model);
    const prefix = 3;
    let { lastLogits, cache } = await decoder.forward(
      Int32Array.from(ids.slice(0, prefix)),
      new Int32Array(prefix).fill(1),
      Int32Array.from([0, 1, 2]),
      1,
      null,
    );
    [...lastLogits].forEach((v, i) => expect(v).toBeCloseTo(full[prefix - 1]![i]!, 4));
    for (let t = prefix; t < ids.length; t++) {
      const previous = cache;
      ({ lastLogits, cache } = await decoder.forward(Int32Array.of(ids[t]!), new Int32Array(t + 1).fill(1), Int32Array.of(t), 1, cache));
      decoder.dispose(previous);
      [...lastLogits].forEach((v, i) => expect(v).toBeCloseTo(full[t]![i]!, 4));
    }
    decoder.dispose(cache);
  });

  it("ignores left padding (masked, with positions that skip it)", async () => {
    const model = tinyModel();
    const full = fullLogits(model, ids);
    const padded = [0, 0, ...ids];
    const { lastLogits, cache } = await tfjsDecoder(model).forward(
      Int32Array.from(padded),
      Int32Array.from(padded.map((_, i) => (i < 2 ? 0 : 1))),
      Int32Array.from(padded.map((_, i) => Math.max(0, i - 2))),
      1,
      null,
    );
    [...lastLogits].forEach((v, i) => expect(v).toBeCloseTo(full.at(-1)![i]!, 4));
    tfjsDecoder(model).dispose(cache);
  });

  it("saves and reloads a checkpoint folder with identical logits and value head", () => {
    const model = tinyModel(3);
    const dir = mkdtempSync(join(tmpdir(), "ranklab-gpt2-"));
    saveGpt2Dir(dir, model);
    const back = loadGpt2Dir(dir);
    expect(back.hasValueHead).toBe(true);
    expect(fullLogits(back, ids)).toEqual(fullLogits(model, ids));
  });

  it("refuses a config.json that does not match the weights, naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "ranklab-gpt2-"));
    saveGpt2Dir(dir, tinyModel());
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, n_embd: 32 }));
    expect(() => loadGpt2Dir(dir)).toThrow(/model\.safetensors: transformer\.wte\.weight has shape \[\d+,16\] but config\.json implies \[\d+,32\]/);
  });

  it("scales attention as transformers does: scale_attn_by_inverse_layer_idx divides layer l's scores by l + 1, scale_attn_weights false drops 1/√head_dim", () => {
    const base = tinyModel(7);
    const hd = config.n_embd / config.n_head;
    // Scores are linear in the queries, so scaling layer l's scores by f(l) equals scaling the
    // query third of its c_attn weight and bias by f(l) in a model without the option.
    const withQueriesScaled = (factor: (layer: number) => number): Gpt2Model => {
      const params = new Map(base.params);
      for (let l = 0; l < config.n_layer; l++) {
        for (const part of ["weight", "bias"]) {
          const name = `transformer.h.${l}.attn.c_attn.${part}`;
          const v = base.params.get(name)!;
          const data = Float32Array.from(v.dataSync());
          const width = 3 * config.n_embd;
          for (let i = 0; i < data.length; i++) if (i % width < config.n_embd) data[i]! *= factor(l);
          params.set(name, tf.variable(tf.tensor(data, v.shape)));
        }
      }
      return { ...base, params };
    };
    const cases: [Record<string, boolean>, (l: number) => number][] = [
      [{ scale_attn_by_inverse_layer_idx: true }, (l) => 1 / (l + 1)],
      [{ scale_attn_weights: false }, () => Math.sqrt(hd)],
      [{ scale_attn_weights: false, scale_attn_by_inverse_layer_idx: true }, (l) => Math.sqrt(hd) / (l + 1)],
    ];
    const plain = fullLogits(base, ids);
    for (const [flags, factor] of cases) {
      const flagged = fullLogits({ ...base, config: Gpt2ConfigSchema.parse({ ...config, ...flags }) }, ids);
      const reference = fullLogits(withQueriesScaled(factor), ids);
      flagged.forEach((row, t) => row.forEach((v, i) => expect(v).toBeCloseTo(reference[t]![i]!, 4)));
      // The flag changes the logits (by more than the tolerance above).
      expect(Math.max(...flagged.flatMap((row, t) => row.map((v, i) => Math.abs(v - plain[t]![i]!))))).toBeGreaterThan(1e-3);
    }
  });

  it("generates deterministically under a seed, stops at [SEP], and batches like single prompts when greedy", async () => {
    const model = tinyModel(5);
    const prompts = [[2, ...tokenizer.encodeText("这电影")], [2, ...tokenizer.encodeText("很好")], [2]];
    const options = { maxNewTokens: 8, temperature: 1, topK: 0, topP: 1, seed: 7, stopTokens: [3], padToken: 0, bannedTokens: [0, 1, 2, 4] };
    const a = await generate(tfjsDecoder(model), prompts, options);
    const b = await generate(tfjsDecoder(model), prompts, options);
    expect(a).toEqual(b);
    for (const row of a) {
      expect(row.length).toBeLessThanOrEqual(8);
      expect(row).not.toContain(3);
      expect(row.some((t) => [0, 1, 2, 4].includes(t))).toBe(false);
    }
    const greedy = { ...options, temperature: 0 };
    const batched = await generate(tfjsDecoder(model), prompts, greedy);
    for (let i = 0; i < prompts.length; i++) expect(batched[i]).toEqual((await generate(tfjsDecoder(model), [prompts[i]!], greedy))[0]);
  });

  it("leaks no tensors while generating", async () => {
    const model = tinyModel();
    const before = tf.memory().numTensors;
    await generate(tfjsDecoder(model), [[2], [2, 5]], { maxNewTokens: 6, temperature: 1, topK: 5, topP: 0.9, seed: 1, stopTokens: [3], padToken: 0 });
    expect(tf.memory().numTensors).toBe(before);
  });
});
