import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { tfjsDecoder } from "../generation/decoder-tfjs.ts";
import { generate } from "../generation/generate.ts";
import type { Gpt2Model } from "../io/gpt2-dir.ts";
import { gpt2Forward, gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { PpoConfigSchema } from "./config.ts";
import { PpoTrainer } from "./trainer.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const GOOD = TOKENS.indexOf("好");
const config = Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 });
const tiny = (seed = 1): Gpt2Model => ({ config, tokenizer, params: initParams(gpt2ParamSpecs(config, true), seed), hasValueHead: true });
const ppoConfig = (over: object = {}) =>
  PpoConfigSchema.parse({ batchSize: 16, miniBatchSize: 8, ppoEpochs: 2, learningRate: 3e-3, generation: { maxNewTokens: 4 }, ...over });
const queries = Array.from({ length: 16 }, (_, i) => [2, 5 + (i % 8)]);

async function rollout(model: Gpt2Model, seed: number) {
  const out = await generate(tfjsDecoder(model), queries, {
    maxNewTokens: 4,
    temperature: 1,
    topK: 0,
    topP: 1,
    seed,
    stopTokens: [],
    padToken: 0,
    bannedTokens: [0, 1, 2, 3, 4],
  });
  return out;
}

/** P(好) after [CLS] 这, under `params`. */
function goodProbability(model: Gpt2Model): number {
  return tf.tidy(() => {
    const out = gpt2Forward(model.params, config, {
      inputIds: tf.tensor2d([[2, 5]], [1, 2], "int32"),
      attentionMask: tf.ones([1, 2], "int32") as tf.Tensor2D,
      positionIds: tf.tensor2d([[0, 1]], [1, 2], "int32"),
    });
    return tf.softmax(out.logits).arraySync()[0]![1]![GOOD]!;
  });
}

describe("PPO trainer", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  it("raises the probability of a token the reward prefers", async () => {
    const model = tiny();
    const trainer = new PpoTrainer(model, ppoConfig({ initKlCoef: 0.01 }));
    const before = goodProbability(model);
    for (let step = 0; step < 12; step++) {
      const responses = await rollout(model, step);
      await trainer.step(
        queries,
        responses,
        responses.map((r) => r.filter((t) => t === GOOD).length / r.length),
      );
    }
    const after = goodProbability(model);
    expect(after).toBeGreaterThan(before * 2);
    trainer.dispose();
    disposeParams(model.params);
  }, 60_000);

  it("stays nearer the reference under the KL penalty when the reward is flat", async () => {
    /** Exact KL(π ‖ π_ref) of the next-token distributions after each query, summed. */
    const exactKl = (trainer: PpoTrainer) =>
      tf.tidy(() => {
        const ids = tf.tensor2d(queries.slice(0, 8), [8, 2], "int32");
        const inputs = {
          inputIds: ids,
          attentionMask: tf.ones([8, 2], "int32") as tf.Tensor2D,
          positionIds: tf.tensor2d(
            queries.slice(0, 8).map(() => [0, 1]),
            [8, 2],
            "int32",
          ),
        };
        const lp = tf.logSoftmax(gpt2Forward(trainer.policy.params, config, inputs).logits);
        const lq = tf.logSoftmax(gpt2Forward(trainer.reference, config, inputs).logits);
        return tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, lq))).dataSync()[0]!;
      });
    const drift = async (beta: number) => {
      const model = tiny(2);
      const trainer = new PpoTrainer(model, ppoConfig({ initKlCoef: beta, adaptiveKl: false }));
      for (let step = 0; step < 8; step++) {
        const responses = await rollout(model, 100 + step);
        await trainer.step(
          queries,
          responses,
          responses.map(() => 0.5),
        );
      }
      const kl = exactKl(trainer);
      trainer.dispose();
      disposeParams(model.params);
      return kl;
    };
    const free = await drift(0);
    const held = await drift(1);
    expect(held).toBeLessThan(free / 2);
  }, 60_000);

  it("changes every policy parameter in one step and none of the reference's", async () => {
    const model = tiny(3);
    const trainer = new PpoTrainer(model, ppoConfig());
    const policyBefore = new Map([...model.params].map(([n, v]) => [n, v.dataSync().slice()]));
    const refBefore = new Map([...trainer.reference].map(([n, v]) => [n, v.dataSync().slice()]));
    const responses = await rollout(model, 7);
    await trainer.step(
      queries,
      responses,
      responses.map((_, i) => (i % 2 ? 1 : 0)),
    );
    const unchanged = [...model.params].filter(([n, v]) => v.dataSync().every((x, i) => x === policyBefore.get(n)![i])).map(([n]) => n);
    // The position embeddings of positions no sequence reaches get no gradient, so compare only touched rows there.
    expect(unchanged.filter((n) => n !== "transformer.wpe.weight")).toEqual([]);
    for (const [n, v] of trainer.reference) expect(v.dataSync()).toEqual(refBefore.get(n));
    trainer.dispose();
  }, 60_000);

  it("does not grow tfjs memory across steps", async () => {
    const model = tiny(4);
    const trainer = new PpoTrainer(model, ppoConfig());
    const counts: number[] = [];
    for (let step = 0; step < 4; step++) {
      const responses = await rollout(model, step);
      await trainer.step(
        queries,
        responses,
        responses.map((r) => r.length / 4),
      );
      counts.push(tf.memory().numTensors);
    }
    // The first step creates Adam's moment variables; after that the count is flat.
    expect(counts[3]).toBe(counts[1]);
    trainer.dispose();
  }, 60_000);
});
