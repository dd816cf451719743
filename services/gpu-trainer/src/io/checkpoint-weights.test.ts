import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { bertParamSpecs, BertConfigSchema } from "../models/bert.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../models/gpt2.ts";
import { initParams, paramsToTensors, type Params } from "../models/params.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { loadBertDir, saveBertDir } from "./bert-dir.ts";
import { isKnownBuffer, readCheckpointWeights } from "./checkpoint-weights.ts";
import { loadGpt2Dir, saveGpt2Dir } from "./gpt2-dir.ts";
import { floatBytes, torchSave, type SavedTensor } from "./torch-save.test-helper.ts";

const TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ..."好差很不错".split("")];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "tiny"));
const gptConfig = Gpt2ConfigSchema.parse({ vocab_size: TOKENS.length, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 });
const bertConfig = BertConfigSchema.parse({
  vocab_size: TOKENS.length,
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 16,
  max_position_embeddings: 8,
});

const i64 = (values: number[]) => {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigInt64LE(BigInt(v), i * 8));
  return b;
};
const causalMask = (n: number) => Uint8Array.from({ length: n * n }, (_, k) => (k % n <= Math.floor(k / n) ? 1 : 0));

/** The model's weights as torch.save writes them, plus `extra` buffers. */
function binOf(params: Params, extra: [string, SavedTensor][], dtype: "F32" | "BF16" = "F32"): Buffer {
  const tensors: [string, SavedTensor][] = [...paramsToTensors(params)].map(([name, t], i) => [
    name,
    { key: String(i), dtype, storage: floatBytes([...t.data], dtype), shape: t.shape },
  ]);
  return torchSave([...extra, ...tensors]);
}

/** A safetensors file with raw tensors of any dtype (ranklab itself writes only F32). */
function rawSafetensors(path: string, entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[]): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    offset += e.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, ...entries.map((e) => Buffer.from(e.bytes))]));
}

const expectSameParams = (a: Params, b: Params) => {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, v] of a) expect(b.get(name)!.dataSync()).toEqual(v.dataSync());
};

beforeAll(async () => {
  await selectBackend("cpu");
});

describe("Hugging Face folders people actually have", () => {
  it("knows the non-parameter buffers and nothing else", () => {
    for (const name of ["transformer.h.0.attn.bias", "h.11.attn.masked_bias", "bert.embeddings.position_ids", "ernie.embeddings.position_ids", "position_ids"])
      expect(isKnownBuffer(name)).toBe(true);
    for (const name of [
      "transformer.h.0.attn.c_attn.bias",
      "transformer.h.0.attn.c_proj.bias",
      "bert.embeddings.position_embeddings.weight",
      "classifier.bias",
    ])
      expect(isKnownBuffer(name)).toBe(false);
  });

  it("loads a GPT-2 folder with only pytorch_model.bin, skipping the uint8 attn.bias and float masked_bias buffers", () => {
    const params = initParams(gpt2ParamSpecs(gptConfig), 1, 0.3);
    const src = mkdtempSync(join(tmpdir(), "gpt2-src-"));
    saveGpt2Dir(src, { config: gptConfig, params, tokenizer, hasValueHead: false });
    const dir = mkdtempSync(join(tmpdir(), "gpt2-bin-"));
    for (const f of ["config.json", "vocab.txt", "tokenizer_config.json"]) copyFileSync(join(src, f), join(dir, f));
    const buffers: [string, SavedTensor][] = [0, 1].flatMap((l): [string, SavedTensor][] => [
      [`transformer.h.${l}.attn.bias`, { key: `mask${l}`, dtype: "U8", storage: causalMask(8), shape: [1, 1, 8, 8] }],
      [`transformer.h.${l}.attn.masked_bias`, { key: `mb${l}`, dtype: "F32", storage: floatBytes([-1e4], "F32"), shape: [] }],
    ]);
    writeFileSync(join(dir, "pytorch_model.bin"), binOf(params, buffers));
    const loaded = loadGpt2Dir(dir);
    expectSameParams(params, loaded.params);
    expect(readCheckpointWeights(dir).path).toBe(join(dir, "pytorch_model.bin"));
  });

  it("loads a BERT folder whose pytorch_model.bin holds bfloat16 weights and int64 position_ids", () => {
    const params = initParams(bertParamSpecs(bertConfig), 2);
    const src = mkdtempSync(join(tmpdir(), "bert-src-"));
    saveBertDir(src, { config: bertConfig, params, tokenizer });
    rmSync(join(src, "model.safetensors"));
    writeFileSync(
      join(src, "pytorch_model.bin"),
      binOf(params, [["bert.embeddings.position_ids", { key: "pos", dtype: "I64", storage: i64([...Array(8).keys()]), shape: [1, 8] }]], "BF16"),
    );
    const loaded = loadBertDir(src);
    // bfloat16 keeps the top 16 bits of each float32.
    const truncated = (x: number) => new Float32Array(Uint32Array.of(new Uint32Array(Float32Array.of(x).buffer)[0]! & 0xffff0000).buffer)[0]!;
    const name = "bert.encoder.layer.0.attention.self.query.weight";
    expect([...loaded.params.get(name)!.dataSync()]).toEqual([...params.get(name)!.dataSync()].map(truncated));
  });

  it("loads GPT-2 and BERT safetensors carrying U8 attn.bias and I64 position_ids", () => {
    const gptParams = initParams(gpt2ParamSpecs(gptConfig), 3);
    const dir = mkdtempSync(join(tmpdir(), "gpt2-st-"));
    saveGpt2Dir(dir, { config: gptConfig, params: gptParams, tokenizer, hasValueHead: false });
    const weights = [...paramsToTensors(gptParams)].map(([name, t]) => ({ name, dtype: "F32", shape: t.shape, bytes: floatBytes([...t.data], "F32") }));
    rawSafetensors(join(dir, "model.safetensors"), [{ name: "transformer.h.0.attn.bias", dtype: "U8", shape: [1, 1, 8, 8], bytes: causalMask(8) }, ...weights]);
    expectSameParams(gptParams, loadGpt2Dir(dir).params);

    const bertParams = initParams(bertParamSpecs(bertConfig), 4);
    const bdir = mkdtempSync(join(tmpdir(), "bert-st-"));
    saveBertDir(bdir, { config: bertConfig, params: bertParams, tokenizer });
    const bweights = [...paramsToTensors(bertParams)].map(([name, t]) => ({ name, dtype: "F32", shape: t.shape, bytes: floatBytes([...t.data], "F32") }));
    rawSafetensors(join(bdir, "model.safetensors"), [
      ...bweights,
      { name: "bert.embeddings.position_ids", dtype: "I64", shape: [1, 8], bytes: i64([...Array(8).keys()]) },
    ]);
    expectSameParams(bertParams, loadBertDir(bdir).params);

    // An integer tensor that is not a known buffer is still refused, by name.
    rawSafetensors(join(bdir, "model.safetensors"), [
      ...bweights,
      { name: "bert.embeddings.word_embeddings.weight", dtype: "I64", shape: [1], bytes: i64([1]) },
    ]);
    expect(() => loadBertDir(bdir)).toThrow(/tensor bert\.embeddings\.word_embeddings\.weight has dtype I64; ranklab reads F32, F16 and BF16 weights/);
  });

  it("says what is missing: no weights at all, or sharded weights", () => {
    const dir = mkdtempSync(join(tmpdir(), "empty-"));
    expect(() => readCheckpointWeights(dir)).toThrow(/no model\.safetensors or pytorch_model\.bin/);
    writeFileSync(join(dir, "pytorch_model.bin.index.json"), "{}");
    expect(() => readCheckpointWeights(dir)).toThrow(/sharded \(pytorch_model\.bin\.index\.json\)/);
  });
});
