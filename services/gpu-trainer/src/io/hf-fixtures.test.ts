import * as tf from "@tensorflow/tfjs";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { bertForward } from "../models/bert.ts";
import { gpt2Forward } from "../models/gpt2.ts";
import type { Params } from "../models/params.ts";
import { loadBertDir } from "./bert-dir.ts";
import { loadGpt2Dir, type Gpt2Model } from "./gpt2-dir.ts";
import { readTorchBin } from "./torch-bin.ts";

/**
 * Folders written by real torch 2.11 and transformers 5.17 (fixtures/hf-5.17, made by
 * make_fixtures.py there), with transformers' own outputs: ranklab must load them and
 * compute the same numbers.
 */
const FIXTURES = join(import.meta.dirname, "fixtures", "hf-5.17");
const expected = JSON.parse(readFileSync(join(FIXTURES, "expected.json"), "utf8")) as {
  gpt2_eager: number[][];
  gpt2_sdpa: number[][];
  texts: string[];
  ids: number[][];
  bert: number[];
  ranklab_bert: { ids: number[][]; scores: number[]; scores_after_from_pretrained: number[] };
};
const GPT2_IDS = [2, 5, 7, 8, 9, 3];

function logits(model: Gpt2Model): number[][] {
  return tf.tidy(() => {
    const T = GPT2_IDS.length;
    const out = gpt2Forward(model.params, model.config, {
      inputIds: tf.tensor2d([GPT2_IDS], [1, T], "int32"),
      attentionMask: tf.ones([1, T], "int32") as tf.Tensor2D,
      positionIds: tf.tensor2d([GPT2_IDS.map((_, i) => i)], [1, T], "int32"),
    });
    return (out.logits.arraySync() as number[][][])[0]!;
  });
}
const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, t) => row.map((v, i) => Math.abs(v - b[t]![i]!))));

/** A copy of the GPT-2 fixture folder with `weights` as its pytorch_model.bin and `config` edits. */
function gpt2Folder(weights: string, config: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "hf-gpt2-"));
  copyFileSync(join(FIXTURES, "gpt2", weights), join(dir, "pytorch_model.bin"));
  copyFileSync(join(FIXTURES, "gpt2", "vocab.txt"), join(dir, "vocab.txt"));
  const json = JSON.parse(readFileSync(join(FIXTURES, "gpt2", "config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...json, ...config }));
  return dir;
}

/** float32 → bfloat16 as torch's .bfloat16() rounds: to nearest, ties to even. */
function toBf16(x: number): number {
  const bits = new Uint32Array(Float32Array.of(x).buffer)[0]!;
  const rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000;
  return new Float32Array(Uint32Array.of(rounded >>> 0).buffer)[0]!;
}

const values = (params: Params) => new Map([...params].map(([name, v]) => [name, [...v.dataSync()]]));

beforeAll(async () => {
  await selectBackend("cpu");
});

describe("checkpoints written by torch and transformers", () => {
  it("GPT-2 from torch.save's zip format (uint8 attn.bias buffers, tied lm_head, gelu_pytorch_tanh, scale_attn_by_inverse_layer_idx) gives transformers' logits", () => {
    const model = loadGpt2Dir(join(FIXTURES, "gpt2"));
    expect(model.config).toMatchObject({ activation_function: "gelu_pytorch_tanh", scale_attn_by_inverse_layer_idx: true });
    const ours = logits(model);
    // Measured: 1.5e-7 from transformers' eager and sdpa attention alike.
    expect(maxDiff(ours, expected.gpt2_eager)).toBeLessThan(1e-5);
    expect(maxDiff(ours, expected.gpt2_sdpa)).toBeLessThan(1e-5);
    // The comparison can fail: ignoring the layer scaling (as ranklab did) is off by 6e-4 on this tiny model.
    const unscaled = loadGpt2Dir(gpt2Folder("pytorch_model.bin", { scale_attn_by_inverse_layer_idx: false }));
    expect(maxDiff(logits(unscaled), expected.gpt2_eager)).toBeGreaterThan(1e-4);
  });

  it("reads the same weights from torch's legacy format, and bfloat16 as torch rounded them", () => {
    const zip = values(loadGpt2Dir(join(FIXTURES, "gpt2")).params);
    expect(values(loadGpt2Dir(gpt2Folder("legacy.bin")).params)).toEqual(zip);
    const bf16 = values(loadGpt2Dir(gpt2Folder("bf16.bin")).params);
    for (const [name, v] of zip) expect({ name, v: bf16.get(name) }).toEqual({ name, v: v.map(toBf16) });
    // The raw file also holds lm_head.weight (the same storage as wte) and the buffers, skipped or kept by name.
    const raw = readTorchBin(join(FIXTURES, "gpt2", "pytorch_model.bin"), { skip: (n) => n.includes("attn.bias") || n.includes("masked_bias") });
    expect(raw.get("lm_head.weight")!.data).toEqual(raw.get("transformer.wte.weight")!.data);
  });

  it("BERT: BertTokenizer's ids on tricky texts, and BertForSequenceClassification's scores", () => {
    const model = loadBertDir(join(FIXTURES, "bert"));
    expect(expected.texts.map((t) => [model.tokenizer.cls, ...model.tokenizer.encodeText(t), model.tokenizer.sep])).toEqual(expected.ids);
    const enc = model.tokenizer.encodeBatch(expected.texts, 32);
    const scores = tf.tidy(() =>
      bertForward(model.params, model.config, {
        inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
        attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
      }).dataSync(),
    );
    [...scores].forEach((s, i) => expect(Math.abs(s - expected.bert[i]!)).toBeLessThan(1e-5));
  });

  it("a ranklab_bert folder saved by transformers with the loading code in docs/trainer.md (mean pooling, bigram table) scores the same in ranklab", () => {
    const model = loadBertDir(join(FIXTURES, "ranklab-bert"));
    expect(model.config).toMatchObject({ model_type: "bert", classifier_pooling: "mean", bigram_buckets: 7, add_pooling_layer: true });
    const { ids, scores, scores_after_from_pretrained } = expected.ranklab_bert;
    expect(scores_after_from_pretrained).toEqual(scores);
    const ours = tf.tidy(() =>
      bertForward(model.params, model.config, {
        inputIds: tf.tensor2d(ids, undefined, "int32"),
        attentionMask: tf.tensor2d(
          ids.map((row) => row.map((id) => (id > 0 ? 1 : 0))),
          undefined,
          "int32",
        ),
      }).dataSync(),
    );
    [...ours].forEach((s, i) => expect(Math.abs(s - scores[i]!)).toBeLessThan(1e-5));
    // [CLS] pooling on the same weights (what plain BertForSequenceClassification would do) is not within that tolerance.
    const cls = tf.tidy(() =>
      bertForward(
        model.params,
        { ...model.config, classifier_pooling: "cls" },
        {
          inputIds: tf.tensor2d(ids, undefined, "int32"),
          attentionMask: tf.tensor2d(
            ids.map((row) => row.map((id) => (id > 0 ? 1 : 0))),
            undefined,
            "int32",
          ),
        },
      ).dataSync(),
    );
    expect(Math.max(...[...cls].map((s, i) => Math.abs(s - scores[i]!)))).toBeGreaterThan(1e-4);
  });

  it("the loading code in docs/trainer.md is services/gpu-trainer/python/ranklab_bert.py, word for word", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "..", "..", "..", "docs", "trainer.md"), "utf8");
    const block = readme.split("```python\n")[1]!.split("```")[0]!;
    expect(block).toBe(readFileSync(join(import.meta.dirname, "..", "..", "python", "ranklab_bert.py"), "utf8"));
  });
});
