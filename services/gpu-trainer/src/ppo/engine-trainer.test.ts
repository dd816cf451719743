import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { gpt2WeightsOf, type Gpt2Model } from "../io/gpt2-dir.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { disposeParams, initParams, type Params } from "../models/params.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { seededRandom } from "../util/random.ts";
import { PpoConfigSchema } from "./config.ts";
import { OnnxPpoTrainer } from "./engine-trainer.ts";
import { PpoTrainer, type PpoStats } from "./trainer.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const config = Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });
const tiny = (seed: number): Gpt2Model => ({ config, tokenizer, params: initParams(gpt2ParamSpecs(config, true), seed, 0.2), hasValueHead: true });
const referenceParams = (seed: number): Params =>
  new Map([...tiny(seed).params].filter(([name, v]) => (name.startsWith("v_head.") ? (v.dispose(), false) : true)));
/** A copy of tfjs variables as a weight store: the onnxruntime trainer's input. */
const storeOf = (params: Params) => new Map([...params].map(([name, v]) => [name, Float32Array.from(v.dataSync() as Float32Array)]));

/** A fixed batch: queries [CLS] + 1–2 tokens, responses of 1–5 tokens (some ending in [SEP]), scores in [0, 1]. */
function batches(steps: number, size: number) {
  const random = seededRandom(11);
  const token = () => 5 + Math.floor(random() * (TOKENS.length - 5));
  return Array.from({ length: steps }, () => {
    const queries = Array.from({ length: size }, () => [2, ...Array.from({ length: 1 + Math.floor(random() * 2) }, token)]);
    const responses = queries.map(() => {
      const r = Array.from({ length: 1 + Math.floor(random() * 5) }, token);
      return random() < 0.3 ? [...r, 3] : r;
    });
    return { queries, responses, scores: responses.map(() => random()) };
  });
}

const STAT_KEYS = [
  "meanReward",
  "kl",
  "entropy",
  "sampleEntropy",
  "klCoef",
  "policyLoss",
  "valueLoss",
  "clipFraction",
  "approxKl",
  "meanResponseLength",
] as const;

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("PPO on the onnxruntime engine", () => {
  it.each([
    ["", undefined],
    [", with banned tokens", [0, 1]],
  ])(
    "gives the tfjs PpoTrainer's stats and weights over several steps, with an external reference and β%s",
    async (_, bannedTokens) => {
      // lr 1e-2 and clip 0.1 so that ratios leave the clip range and the clip fraction is not 0.
      const ppo = PpoConfigSchema.parse({
        batchSize: 8,
        miniBatchSize: 4,
        ppoEpochs: 2,
        learningRate: 1e-2,
        clipRange: 0.1,
        generation: { maxNewTokens: 6 },
        seed: 3,
      });
      const data = batches(3, 8);
      const run = async (engine: "onnx" | "tfjs") => {
        const model = tiny(5);
        const options = { reference: referenceParams(6), klCoef: 0.05, ...(bannedTokens ? { bannedTokens } : {}) };
        // The onnxruntime trainer trains a weight store in place; the tfjs one, the model's variables.
        const store = gpt2WeightsOf(model);
        const trainer =
          engine === "onnx"
            ? await OnnxPpoTrainer.create(
                store,
                ppo,
                { klCoef: options.klCoef, ...(bannedTokens ? { bannedTokens } : {}), referenceWeights: storeOf(options.reference) },
                { threads: 1 },
              )
            : new PpoTrainer(model, ppo, options);
        const stats: PpoStats[] = [];
        for (const b of data) stats.push(await trainer.step(b.queries, b.responses, b.scores));
        const weights = engine === "onnx" ? store.weights : new Map([...model.params].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
        if (engine === "onnx") disposeParams(options.reference);
        await trainer.dispose();
        disposeParams(model.params);
        return { stats, weights };
      };
      const onnx = await run("onnx");
      const ref = await run("tfjs");
      let clipped = 0;
      for (let s = 0; s < data.length; s++) {
        clipped += ref.stats[s]!.clipFraction;
        for (const key of STAT_KEYS) {
          const want = ref.stats[s]![key];
          // Tolerance: 2e-5 relative (float32 sums over a few dozen tokens); measured at most 3.2e-6 (the KL on step 2).
          expect(Math.abs(onnx.stats[s]![key] - want), `step ${s} ${key}: ${onnx.stats[s]![key]} vs ${want}`).toBeLessThan(2e-5 * Math.max(1, Math.abs(want)));
        }
      }
      expect(clipped).toBeGreaterThan(0);
      // Weights: 12 Adam steps at lr 1e-2 move weights by up to 0.12; the two agree within 5e-5 (measured at most 6e-6).
      let moved = 0;
      const initial = tiny(5);
      for (const [name, want] of ref.weights) {
        const have = onnx.weights.get(name)!;
        const start = initial.params.get(name)!.dataSync();
        let err = 0;
        for (let i = 0; i < want.length; i++) {
          // The attention key bias's exact gradient is 0 (the softmax is shift-invariant), so both engines' gradients there
          // are float32 rounding noise, which Adam turns into steps of ±lr: not comparable, left out.
          if (name.endsWith("attn.c_attn.bias") && i >= config.n_embd && i < 2 * config.n_embd) continue;
          err = Math.max(err, Math.abs(have[i]! - want[i]!));
          moved = Math.max(moved, Math.abs(want[i]! - start[i]!));
        }
        expect(err, name).toBeLessThan(5e-5);
      }
      expect(moved).toBeGreaterThan(0.01);
      disposeParams(initial.params);
    },
    120_000,
  );

  /**
   * The policy and its reference differ only in how much they like [UNK], which sampling
   * never draws: with every hidden state set to one vector b (ln_f's weight ~0, bias b),
   * the policy's [UNK] embedding row is made b·12/|b|², so its [UNK] logit is 12 at every
   * position. Measured over the sampled distribution (bannedTokens), the two policies
   * are the same: KL 0. Measured over the raw softmax, every sampled token lost
   * probability to [UNK] and the KL estimate goes negative: the reward PPO could farm by
   * moving mass onto tokens it never samples (generation/banned-tokens.ts).
   */
  it.each(["onnx", "tfjs"] as const)(
    "measures KL over the distribution sampling draws from (%s)",
    async (engine) => {
      const ppo = PpoConfigSchema.parse({ batchSize: 8, miniBatchSize: 4, ppoEpochs: 1, generation: { maxNewTokens: 6 }, seed: 3 });
      const data = batches(1, 8)[0]!;
      const b = Float32Array.from({ length: config.n_embd }, (_, i) => (i % 3) - 1 + 0.25);
      const norm2 = b.reduce((sum, v) => sum + v * v, 0);
      const flatten = (params: Params, unkLogit: number | null) => {
        params.get("transformer.ln_f.weight")!.assign(tf.fill([config.n_embd], 1e-6));
        params.get("transformer.ln_f.bias")!.assign(tf.tensor1d(b));
        if (unkLogit !== null) {
          const wte = params.get("transformer.wte.weight")!;
          const rows = wte.arraySync() as number[][];
          rows[1] = Array.from(b, (v) => (v * unkLogit) / norm2);
          wte.assign(tf.tensor2d(rows));
        }
      };
      const klOf = async (bannedTokens?: number[]) => {
        const model = tiny(5);
        const reference = new Map([...tiny(5).params].filter(([name, v]) => (name.startsWith("v_head.") ? (v.dispose(), false) : true)));
        flatten(model.params, 12);
        flatten(reference, null);
        const options = { reference, klCoef: 0.05, ...(bannedTokens ? { bannedTokens } : {}) };
        const trainer =
          engine === "onnx"
            ? await OnnxPpoTrainer.create(
                gpt2WeightsOf(model),
                ppo,
                { klCoef: 0.05, ...(bannedTokens ? { bannedTokens } : {}), referenceWeights: storeOf(reference) },
                { threads: 1 },
              )
            : new PpoTrainer(model, ppo, options);
        const stats = await trainer.step(data.queries, data.responses, data.scores);
        if (engine === "onnx") disposeParams(reference);
        await trainer.dispose();
        disposeParams(model.params);
        return stats.kl;
      };
      expect(Math.abs(await klOf([0, 1]))).toBeLessThan(1e-3);
      expect(await klOf()).toBeLessThan(-5);
    },
    60_000,
  );

  it("refuses a reference of another architecture, and trains the policy's weight store in place", async () => {
    const model = tiny(1);
    const ppo = PpoConfigSchema.parse({ batchSize: 4, miniBatchSize: 2 });
    const other = Gpt2ConfigSchema.parse({ ...config, n_embd: 8 });
    const wrong = initParams(gpt2ParamSpecs(other, false), 2);
    const store = gpt2WeightsOf(model);
    disposeParams(model.params);
    await expect(OnnxPpoTrainer.create(store, ppo, { referenceWeights: storeOf(wrong) })).rejects.toThrow(/same architecture/);
    disposeParams(wrong);
    const reference = referenceParams(2);
    const trainer = await OnnxPpoTrainer.create(store, ppo, { referenceWeights: storeOf(reference) }, { threads: 1 });
    disposeParams(reference);
    expect(trainer.referenceWeights.get("transformer.h.0.attn.c_attn.weight")!.length).toBe(16 * 48);
    // The store's arrays are the ones the engine trains: a step moves them, with no copy back.
    const wte = store.weights.get("transformer.wte.weight")!;
    const before = Float32Array.from(wte);
    const data = batches(1, 4)[0]!;
    await trainer.step(data.queries, data.responses, data.scores);
    expect(store.weights.get("transformer.wte.weight")).toBe(wte);
    expect(wte.some((v, i) => v !== before[i])).toBe(true);
    await trainer.dispose();
  });
});
