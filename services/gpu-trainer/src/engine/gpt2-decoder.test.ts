import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generate } from "../generation/generate.ts";
import { saveGpt2Dir, type Gpt2Model } from "../io/gpt2-dir.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { exportGpt2Onnx } from "../onnx/export-gpt2.ts";
import { OnnxGpt2Decoder } from "../onnx/gpt2-session.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { AdamW } from "./adamw.ts";
import { OnnxGpt2Engine } from "./gpt2-engine.ts";
import { lmBatch, lmCrossEntropy, lmTargets } from "./lm-loss.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const dir = mkdtempSync(join(tmpdir(), "ranklab-engine-decoder-"));
beforeAll(() => selectBackend("wasm"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const queries = [[2, 5, 6, 7], [2, 8], [2], [2, 9, 10]];
const sampling = { maxNewTokens: 8, temperature: 1, topK: 0, topP: 1, seed: 11, stopTokens: [3], padToken: 0, bannedTokens: [0, 1, 2] };

/** Sampled continuations from the checkpoint `model` saved and exported as model.onnx. */
async function fromExport(model: Gpt2Model, sub: string): Promise<number[][]> {
  const out = join(dir, sub);
  saveGpt2Dir(out, model, {});
  exportGpt2Onnx(out, model);
  const decoder = await OnnxGpt2Decoder.open(out, model.config);
  try {
    return await generate(decoder, queries, sampling);
  } finally {
    await decoder.close();
  }
}

describe("generation from the engine's weights", () => {
  it.each([
    ["tied head", true],
    ["untied head", false],
  ])(
    "equals generation from an exported model.onnx token for token, before and after a training step (%s)",
    async (_, tied) => {
      const config = Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2, tie_word_embeddings: tied });
      const model: Gpt2Model = { config, tokenizer, params: initParams(gpt2ParamSpecs(config, false), 3, 0.3), hasValueHead: false };
      const engine = await OnnxGpt2Engine.fromModel(model, { threads: 1 });
      const decoder = await engine.decoder();
      expect(await generate(decoder, queries, sampling)).toEqual(await fromExport(model, `before-${tied}`));

      // A large step, so the samples change: the same decoder, with no re-export, now samples from the new weights.
      const batch = lmBatch(
        [
          [2, 5, 6, 7, 3],
          [2, 8, 9, 3],
        ],
        0,
      );
      const forward = await engine.forward(batch, lmTargets(batch));
      new AdamW(engine.weights, { learningRate: 0.3 }).step(await engine.backward(forward, lmCrossEntropy(forward.targetLogprobs, batch).dLogprobs));
      const after = await generate(decoder, queries, sampling);
      engine.writeTo(model);
      const exported = await fromExport(model, `after-${tied}`);
      expect(after).toEqual(exported);
      const old = await OnnxGpt2Decoder.open(join(dir, `before-${tied}`), config);
      expect(after).not.toEqual(await generate(old, queries, sampling));
      await old.close();
      await decoder.close();
      await engine.close();
      disposeParams(model.params);
    },
    60_000,
  );
});
