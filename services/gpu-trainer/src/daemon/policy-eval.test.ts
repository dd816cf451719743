import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { bannedLogitBias, samplingBannedTokens } from "../generation/banned-tokens.ts";
import { samplePolicy } from "../generation/sample-policy.ts";
import { loadGpt2Dir, readGpt2Dir, saveGpt2Dir } from "../io/gpt2-dir.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { packBatch } from "../ppo/batch.ts";
import { policyOutputs } from "../ppo/forward.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { evaluatePolicy } from "./policy-eval.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const config = Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 });
const dir = mkdtempSync(join(tmpdir(), "ranklab-policy-eval-"));

beforeAll(async () => {
  await selectBackend("wasm");
  for (const [name, seed] of [
    ["policy", 1],
    ["reference", 2],
  ] as const) {
    const params = initParams(gpt2ParamSpecs(config, false), seed, 0.3);
    saveGpt2Dir(join(dir, name), { config, tokenizer, params, hasValueHead: false });
    disposeParams(params);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("evaluatePolicy", () => {
  it("measures KL to the reference on the engine as the tfjs reference forward does, over the distribution sampling draws from", async () => {
    const prompts = ["这电影", "很好"];
    const sampling = { maxNewTokens: 6, temperature: 1, topK: 0, topP: 1, seed: 5 };
    const e = await evaluatePolicy(join(dir, "policy"), join(dir, "reference"), prompts, { samples: 20, sampling });
    expect(e.samples).toHaveLength(20);
    // The same figure from tfjs (the readable reference): Σ over response tokens of log π − log π_ref, on the samples drawn.
    const policy = loadGpt2Dir(join(dir, "policy"));
    const reference = loadGpt2Dir(join(dir, "reference"));
    // The same draws (same seed): their token ids.
    const { queries, responses, texts } = await samplePolicy(
      readGpt2Dir(join(dir, "policy")),
      join(dir, "policy"),
      Array.from({ length: 20 }, (_, i) => prompts[i % 2]!),
      sampling,
    );
    expect(texts).toEqual(e.samples);
    const packed = packBatch(queries, responses, tokenizer.pad);
    const bias = bannedLogitBias(config.vocab_size, samplingBannedTokens(tokenizer));
    const sum = (lp: number[][]) => lp.reduce((s, row, b) => s + row.reduce((r, v, t) => r + packed.responseMask[b]![t]! * v, 0), 0);
    const kl = tf.tidy(
      () =>
        (sum(policyOutputs(policy.params, config, packed, bias).logprobs.arraySync()) -
          sum(policyOutputs(reference.params, config, packed, bias).logprobs.arraySync())) /
        20,
    );
    disposeParams(policy.params);
    disposeParams(reference.params);
    expect(Math.abs(kl)).toBeGreaterThan(0.1);
    expect(Math.abs(e.klToReference - kl)).toBeLessThan(1e-4 * Math.max(1, Math.abs(kl)));
    // A policy against itself: no KL, and the same distinct-2 as its reference.
    const self = await evaluatePolicy(join(dir, "policy"), join(dir, "policy"), prompts, { samples: 20, sampling });
    expect(Math.abs(self.klToReference)).toBeLessThan(1e-6);
    expect(self.distinct2).toBe(self.referenceDistinct2);
  }, 60_000);
});
