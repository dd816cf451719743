import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { gpt2WeightsOf, type Gpt2Model } from "../io/gpt2-dir.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { DpoConfigSchema } from "./config.ts";
import { pairsFromRankLists, tokenizePair } from "./pairs.ts";
import { OnnxDpoTrainer } from "./trainer.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const config = Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 24, n_embd: 16, n_layer: 2, n_head: 2 });

beforeAll(async () => {
  await selectBackend("wasm");
});

describe("DPO's trainer on the engine", () => {
  it("makes pairs between levels only, weighted, and gives an empty prompt [CLS] as context", () => {
    const pairs = pairsFromRankLists([{ texts: ["很好", "不错", "很差", "垃圾"], levels: [0, 1, 1, 2], weight: 0.5 }]);
    // 4 texts, one tie (不错 = 很差): 6 − 1 = 5 pairs.
    expect(pairs.map((p) => `${p.chosen}>${p.rejected}`)).toEqual(["很好>不错", "很好>很差", "很好>垃圾", "不错>垃圾", "很差>垃圾"]);
    expect(pairs.every((p) => p.weight === 0.5 && p.prompt === "")).toBe(true);
    const tokens = tokenizePair(tokenizer, pairs[0]!, { maxPromptLength: 8, maxLength: 4 });
    expect(tokens.query).toEqual([tokenizer.cls]);
    expect(tokens.chosen).toEqual([...tokenizer.encodeText("很好"), tokenizer.sep]);
    // Cut to maxLength with the query: 4 − 1 = 3 tokens of "这电影很好" + [SEP].
    const long = tokenizePair(tokenizer, { prompt: "这电影", chosen: "这电影很好", rejected: "差", weight: 1 }, { maxPromptLength: 3, maxLength: 6 });
    expect(long.query).toEqual([tokenizer.cls, ...tokenizer.encodeText("电影")]);
    expect(long.chosen).toHaveLength(3);
  });

  it("raises the chosen-vs-rejected margin on a tiny GPT-2, against the fixed reference", async () => {
    const policy: Gpt2Model = { config, tokenizer, params: initParams(gpt2ParamSpecs(config, true), 3, 0.2), hasValueHead: true };
    const dpo = DpoConfigSchema.parse({ beta: 0.5, learningRate: 1e-2, batchSize: 4 });
    const lists = [
      { prompt: "", texts: ["很好，喜欢！", "很差，失望。"] },
      { prompt: "这电影", texts: ["不错，喜欢。", "垃圾，很差！"] },
      { prompt: "这电影", texts: ["很好。", "很差。"] },
      { prompt: "", texts: ["喜欢这电影！", "失望，垃圾。"] },
    ];
    const pairs = pairsFromRankLists(lists).map((p) => tokenizePair(tokenizer, p, dpo));
    const store = gpt2WeightsOf(policy);
    const trainer = await OnnxDpoTrainer.create(store, dpo, { bannedTokens: [0, 1, 2] }, { threads: 1 });
    const reference = await trainer.referenceLogprobs(pairs);
    const before = await trainer.evaluate(pairs, reference);
    // The reference is the policy as it started: every implicit reward is 0.
    expect(Math.abs(before.margin)).toBeLessThan(1e-5);
    expect(Math.abs(before.loss - Math.log(2))).toBeLessThan(1e-5);
    const steps = [];
    for (let i = 0; i < 10; i++) steps.push(await trainer.step(pairs, reference));
    const after = await trainer.evaluate(pairs, reference);
    expect(after.margin).toBeGreaterThan(0.5);
    expect(after.accuracy).toBe(1);
    expect(after.loss).toBeLessThan(steps[0]!.loss);
    // The store trained in place; its value head (no part of DPO) stays as it was.
    expect(store.weights.get("v_head.summary.weight")).toEqual(policy.params.get("v_head.summary.weight")!.dataSync());
    expect(store.weights.get("transformer.wte.weight")).not.toEqual(policy.params.get("transformer.wte.weight")!.dataSync());
    await trainer.dispose();
    disposeParams(policy.params);
  });
});
