import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { tfjsDecoder } from "../generation/decoder-tfjs.ts";
import { generate } from "../generation/generate.ts";
import type { Gpt2Model } from "../io/gpt2-dir.ts";
import { gpt2Forward, gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { get, initParams } from "../models/params.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { exportGpt2Onnx } from "./export-gpt2.ts";
import { OnnxGpt2Decoder } from "./gpt2-session.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错垃圾喜欢失望，。！这电影".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const config = Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 });
const model: Gpt2Model = { config, tokenizer, params: initParams(gpt2ParamSpecs(config, true), 9, 0.3), hasValueHead: true };
let decoder: OnnxGpt2Decoder;
let exported: string;

beforeAll(async () => {
  await selectBackend("wasm");
  const dir = mkdtempSync(join(tmpdir(), "ranklab-onnx-gpt2-"));
  exported = exportGpt2Onnx(dir, model);
  decoder = await OnnxGpt2Decoder.open(dir, config);
});

describe("GPT-2 export to ONNX", () => {
  it("gives the tfjs logits within 1e-4 at every step of a cached, left-padded batch", async () => {
    const prompts = [
      [2, 5, 6, 7],
      [2, 8],
    ];
    const ids = Int32Array.from([2, 5, 6, 7, 0, 0, 2, 8]);
    const mask = Int32Array.from([1, 1, 1, 1, 0, 0, 1, 1]);
    const positions = Int32Array.from([0, 1, 2, 3, 0, 0, 0, 1]);
    const tfj = tfjsDecoder(model);
    let a = await tfj.forward(ids, mask, positions, 2, null);
    let b = await decoder.forward(ids, mask, positions, 2, null);
    for (let step = 0; step < 3; step++) {
      expect(b.lastLogits.length).toBe(a.lastLogits.length);
      b.lastLogits.forEach((v, i) => expect(Math.abs(v - a.lastLogits[i]!)).toBeLessThan(1e-4));
      const next = Int32Array.from([9 + step, 10 + step]);
      const width = 4 + step + 1;
      const m = new Int32Array(2 * width);
      for (let r = 0; r < 2; r++) for (let j = 0; j < width; j++) m[r * width + j] = j < 4 ? mask[r * 4 + j]! : 1;
      const pos = Int32Array.from([prompts[0]!.length + step, prompts[1]!.length + step]);
      const [pa, pb] = [a.cache, b.cache];
      a = await tfj.forward(next, m, pos, 2, pa);
      b = await decoder.forward(next, m, pos, 2, pb);
      tfj.dispose(pa);
      decoder.dispose(pb);
    }
    tfj.dispose(a.cache);
    decoder.dispose(b.cache);
  });

  it("mirrors transformers' attention scaling options and the torch-named tanh GELU", async () => {
    const scaled = Gpt2ConfigSchema.parse({
      ...config,
      scale_attn_by_inverse_layer_idx: true,
      scale_attn_weights: false,
      activation_function: "gelu_pytorch_tanh",
    });
    const other: Gpt2Model = { ...model, config: scaled };
    const dir = mkdtempSync(join(tmpdir(), "ranklab-onnx-gpt2-scaled-"));
    exportGpt2Onnx(dir, other);
    const onnx = await OnnxGpt2Decoder.open(dir, scaled);
    const ids = Int32Array.from([2, 5, 6, 7, 8]);
    const mask = new Int32Array(5).fill(1);
    const positions = Int32Array.from([0, 1, 2, 3, 4]);
    const a = await tfjsDecoder(other).forward(ids, mask, positions, 1, null);
    const b = await onnx.forward(ids, mask, positions, 1, null);
    b.lastLogits.forEach((v, i) => expect(Math.abs(v - a.lastLogits[i]!)).toBeLessThan(1e-4));
    // Not the unscaled model's logits.
    const plain = await tfjsDecoder(model).forward(ids, mask, positions, 1, null);
    expect(Math.max(...[...a.lastLogits].map((v, i) => Math.abs(v - plain.lastLogits[i]!)))).toBeGreaterThan(1e-3);
    tfjsDecoder(other).dispose(a.cache);
    tfjsDecoder(model).dispose(plain.cache);
    onnx.dispose(b.cache);
    await onnx.close();
  });

  it("gives the value head's values within 1e-4", async () => {
    const ids = [2, 5, 6, 7, 8];
    const T = ids.length;
    const want = tf.tidy(
      () =>
        gpt2Forward(model.params, config, {
          inputIds: tf.tensor2d([ids], [1, T], "int32"),
          attentionMask: tf.ones([1, T], "int32") as tf.Tensor2D,
          positionIds: tf.tensor2d([[0, 1, 2, 3, 4]], [1, T], "int32"),
        }).values!.arraySync()[0]!,
    );
    const out = await decoder.fullPass(Int32Array.from(ids), new Int32Array(T).fill(1), Int32Array.from([0, 1, 2, 3, 4]), 1);
    const got = [...out.values!];
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-4));
  });

  it("embeds each weight once, the tied embedding (input table and LM head) included", () => {
    const file = readFileSync(exported);
    const bytes = (data: Float32Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const occurrences = (needle: Buffer) => {
      let n = 0;
      for (let at = file.indexOf(needle); at >= 0; at = file.indexOf(needle, at + 1)) n++;
      return n;
    };
    for (const name of ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.attn.c_attn.weight", "v_head.summary.weight"])
      expect(occurrences(bytes(get(model.params, name).dataSync() as Float32Array)), name).toBe(1);
  });

  it("generates the same tokens as tfjs when greedy", async () => {
    const prompts = [[2, 5, 6], [2], [2, 11, 12, 13]];
    const options = { maxNewTokens: 10, temperature: 0, topK: 0, topP: 1, seed: 0, stopTokens: [3], padToken: 0, bannedTokens: [0, 1, 2, 4] };
    expect(await generate(decoder, prompts, options)).toEqual(await generate(tfjsDecoder(model), prompts, options));
  });
});
