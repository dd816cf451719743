import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { gpt2WeightsOf, type Gpt2Model } from "../io/gpt2-dir.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { packBatch } from "../ppo/batch.ts";
import { policyOutputs } from "../ppo/forward.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { GrpoConfigSchema } from "./config.ts";
import { OnnxGrpoTrainer } from "./trainer.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const config = Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });
const id = (ch: string) => TOKENS.indexOf(ch);

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("GRPO's trainer on the engine", () => {
  it("moves probability toward the completions its group scored higher, against the fixed reference, with trl's figures", async () => {
    const policy: Gpt2Model = { config, tokenizer, params: initParams(gpt2ParamSpecs(config, false), 3, 0.2), hasValueHead: false };
    const grpo = GrpoConfigSchema.parse({ batchSize: 8, groupSize: 4, miniBatchSize: 4, learningRate: 1e-2, beta: 0.01 });
    // Two prompts, four completions each; in each group the ones with 好 score 1, the others 0.
    const queries = [...new Array(4).fill([2, id("这")]), ...new Array(4).fill([2, id("电"), id("影")])] as number[][];
    const responses = [
      ["很", "好"],
      ["很", "差"],
      ["好", "！"],
      ["垃", "圾"],
      ["不", "错", "好"],
      ["失", "望"],
      ["喜", "欢"],
      ["好", "。"],
    ].map((r) => [...r.map(id), 3]);
    const scores = responses.map((r) => (r.includes(id("好")) ? 1 : 0));
    const packed = packBatch(queries, responses, 0);
    const margin = () =>
      tf.tidy(() => {
        const lp = policyOutputs(policy.params, config, packed).logprobs.arraySync();
        const seq = lp.map((row, b) => row.reduce((s, v, t) => s + packed.responseMask[b]![t]! * v, 0));
        const mean = (pick: number) => seq.filter((_, i) => scores[i] === pick).reduce((a, b) => a + b, 0) / scores.filter((s) => s === pick).length;
        return mean(1) - mean(0);
      });
    const before = margin();
    const store = gpt2WeightsOf(policy);
    const trainer = await OnnxGrpoTrainer.create(store, grpo, { bannedTokens: [0, 1, 2] }, { threads: 1 });
    const first = await trainer.step(queries, responses, scores);
    expect(first.meanReward).toBe(0.5);
    // Group 1: [1, 0, 1, 0], group 2: [1, 0, 0, 1]: each std √(1/3).
    expect(first.rewardStd).toBeCloseTo(Math.sqrt(1 / 3), 10);
    // The reference is the policy as it started: no KL at sampling time.
    expect(Math.abs(first.sequenceKl)).toBeLessThan(1e-5);
    let last = first;
    for (let i = 0; i < 5; i++) last = await trainer.step(queries, responses, scores);
    expect(last.kl).toBeGreaterThan(0);
    expect(last.meanResponseLength).toBe(responses.reduce((s, r) => s + r.length, 0) / 8);
    // The weights train in place in the store; copied into the tfjs policy (the reference forward), the rewarded
    // completions gained log-probability over the others.
    for (const [name, v] of policy.params) v.assign(tf.tensor(store.weights.get(name)!, v.shape));
    expect(margin() - before).toBeGreaterThan(1);
    await trainer.dispose();
    disposeParams(policy.params);
  });
});
