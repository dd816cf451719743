import * as ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selectBackend } from "../src/backend/select-backend.ts";
import { registerWasmFastMatMul, unregisterWasmFastMatMul } from "../src/backend/wasm-kernels.ts";
import { generateReviews } from "../src/data/review-corpus.ts";
import { tfjsDecoder } from "../src/generation/decoder-tfjs.ts";
import { generate } from "../src/generation/generate.ts";
import type { BertModel } from "../src/io/bert-dir.ts";
import type { Gpt2Model } from "../src/io/gpt2-dir.ts";
import { BertConfigSchema, bertForward, bertParamSpecs } from "../src/models/bert.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../src/models/gpt2.ts";
import { disposeParams, initParams } from "../src/models/params.ts";
import { OnnxBertScorer } from "../src/onnx/bert-session.ts";
import { exportBertOnnx } from "../src/onnx/export-bert.ts";
import { exportGpt2Onnx } from "../src/onnx/export-gpt2.ts";
import { GraphBuilder } from "../src/onnx/graph-builder.ts";
import { OnnxGpt2Decoder } from "../src/onnx/gpt2-session.ts";
import { DataType } from "../src/onnx/proto.ts";
import { rankLoss } from "../src/reward-model/rank-loss.ts";
import { asItems, scoreItems } from "../src/reward-model/score-tfjs.ts";
import { buildCharVocab } from "../src/tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../src/tokenizer/wordpiece.ts";
import { fmt, timeIt } from "./timing.ts";

const gflops = (flop: number, ms: number) => flop / ms / 1e6;

/**
 * Runs a tfjs op to completion and frees its result. (Not tf.tidy(() => x.dataSync()):
 * tidy walks whatever its function returns looking for tensors, and walking a
 * million-element Float32Array costs more than the matmul.)
 */
function runOp(op: () => tf.Tensor): void {
  const out = op();
  out.dataSync();
  out.dispose();
}

/** An ONNX graph of one n×n·n×n MatMul: the GEMM baseline the training benchmarks compare against. */
export function matmulGraph(n: number): Uint8Array {
  const g = new GraphBuilder("matmul");
  g.output(g.o("MatMul", ["a", "b"]), "c");
  return g.encode(
    [
      { name: "a", dataType: DataType.FLOAT, dims: [n, n] },
      { name: "b", dataType: DataType.FLOAT, dims: [n, n] },
    ],
    [{ name: "c", dataType: DataType.FLOAT, dims: [n, n] }],
  );
}

async function matmulOnnx(n: number): Promise<number> {
  const bytes = matmulGraph(n);
  const session = await ort.InferenceSession.create(bytes);
  const a = new ort.Tensor("float32", Float32Array.from({ length: n * n }, Math.random), [n, n]);
  const ms = await timeIt(() => session.run({ a, b: a }));
  await session.release();
  return ms;
}

async function matmulTfjs(n: number, ta = false, tb = false, shape?: [number, number, number]): Promise<number> {
  const [m, k, p] = shape ?? [n, n, n];
  const a = tf.randomNormal(ta ? [k, m] : [m, k]) as tf.Tensor2D;
  const b = tf.randomNormal(tb ? [p, k] : [k, p]) as tf.Tensor2D;
  const ms = await timeIt(() => runOp(() => tf.matMul(a, b, ta, tb)), { seconds: 1.5 });
  tf.dispose([a, b]);
  return ms;
}

/** The small reward model both kernel benchmarks train: d=128, 2 layers, mean pooling, a character vocabulary of `texts`. */
export function tinyRewardModel(texts: string[]): BertModel {
  const vocab = buildCharVocab(texts, 6000);
  const config = BertConfigSchema.parse({
    vocab_size: vocab.tokens.length,
    hidden_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 512,
    max_position_embeddings: 96,
    num_labels: 1,
    classifier_pooling: "mean",
  });
  return { config, tokenizer: new WordPieceTokenizer(vocab), params: initParams(bertParamSpecs(config), 1) };
}

/** One reward-model step (32 texts × 96 tokens, 48 pairs), as trainRewardModel runs it. */
function trainStepRunner(model: BertModel, texts: string[]) {
  const optimizer = tf.train.adam(1e-3);
  const enc = model.tokenizer.encodeBatch(texts.slice(0, 32), 96);
  const better = Int32Array.from({ length: 48 }, (_, i) => Math.floor(i / 6) * 4 + [0, 0, 0, 1, 1, 2][i % 6]!);
  const worse = Int32Array.from({ length: 48 }, (_, i) => Math.floor(i / 6) * 4 + [1, 2, 3, 2, 3, 3][i % 6]!);
  const variables = [...model.params.values()];
  return {
    tokens: enc.batch * enc.length,
    step: () => {
      const loss = optimizer.minimize(
        () =>
          rankLoss(
            tf.reshape(
              bertForward(
                model.params,
                model.config,
                {
                  inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
                  attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
                },
                0.1,
              ),
              [enc.batch],
            ) as tf.Tensor1D,
            better,
            worse,
          ),
        true,
        variables,
      )!;
      loss.dataSync();
      loss.dispose();
    },
  };
}

/**
 * The trainer's compute: matmul throughput per engine, a reward-model training step
 * with ranklab's wasm matmul against tfjs's own, and scoring and generation on ONNX
 * against tfjs. Every figure has its baseline from the same run.
 */
export async function benchTrainerKernels(): Promise<void> {
  const backend = await selectBackend();
  console.log(`tfjs backend: ${backend.name}; onnxruntime-node ${ort.env.versions.common}`);

  // 1. float32 matmul 1024³ per engine.
  const n = 1024;
  const flop = 2 * n ** 3;
  const onnxMs = await matmulOnnx(n);
  const wasmMs = await matmulTfjs(n);
  await tf.setBackend("cpu");
  const [ca, cb] = [tf.randomNormal([n, n]) as tf.Tensor2D, tf.randomNormal([n, n]) as tf.Tensor2D];
  const cpuMs = await timeIt(() => runOp(() => tf.matMul(ca, cb)), { seconds: 0, warmup: 0, minRuns: 1 });
  tf.dispose([ca, cb]);
  await tf.setBackend(backend.tfName);
  console.log(
    `matmul ${n}³ GFLOP/s: onnxruntime ${fmt(gflops(flop, onnxMs))}, tfjs ${backend.name} ${fmt(gflops(flop, wasmMs))}, tfjs cpu ${fmt(gflops(flop, cpuMs), 2)} (onnxruntime / tfjs ${backend.name} = ${fmt(wasmMs / onnxMs, 2)}×)`,
  );

  // 2. The shapes training uses, with and without ranklab's wasm matmul.
  const texts = generateReviews(64, 3).map((r) => r.text);
  if (backend.name === "wasm") {
    const shapes: [string, boolean, boolean, [number, number, number]][] = [
      ["x·Wᵀ 3072×128·128×512", false, true, [3072, 128, 512]],
      ["xᵀ·g 128×3072·3072×512 (weight gradient)", true, false, [128, 3072, 512]],
    ];
    for (const [name, ta, tb, shape] of shapes) {
      const fast = await matmulTfjs(0, ta, tb, shape);
      unregisterWasmFastMatMul();
      const stock = await matmulTfjs(0, ta, tb, shape);
      registerWasmFastMatMul();
      const f = 2 * shape[0] * shape[1] * shape[2];
      console.log(`${name}: ranklab ${fmt(gflops(f, fast))} GFLOP/s, tfjs stock ${fmt(gflops(f, stock))} GFLOP/s (ratio ${fmt(stock / fast, 1)}×)`);
    }
    const [qa, kb] = [tf.randomNormal([128, 96, 32]) as tf.Tensor3D, tf.randomNormal([128, 32, 96]) as tf.Tensor3D];
    const batchFast = await timeIt(() => runOp(() => tf.matMul(qa, kb)), { seconds: 1 });
    unregisterWasmFastMatMul();
    const batchStock = await timeIt(() => runOp(() => tf.matMul(qa, kb)), { seconds: 1 });
    registerWasmFastMatMul();
    tf.dispose([qa, kb]);
    console.log(
      `attention scores, 128 × (96×32·32×96): ranklab ${fmt(batchFast, 2)} ms, tfjs stock ${fmt(batchStock, 2)} ms (ratio ${fmt(batchStock / batchFast, 1)}×)`,
    );

    const model = tinyRewardModel(texts);
    const runner = trainStepRunner(model, texts);
    const fast = await timeIt(runner.step, { seconds: 6 });
    unregisterWasmFastMatMul();
    const stock = await timeIt(runner.step, { seconds: 6 });
    registerWasmFastMatMul();
    console.log(
      `reward-model train step (d=128, 2 layers, 32×96 tokens): ranklab ${fmt(fast, 0)} ms = ${fmt((runner.tokens / fast) * 1000, 0)} tokens/s, tfjs stock ${fmt(stock, 0)} ms = ${fmt((runner.tokens / stock) * 1000, 0)} tokens/s (ratio ${fmt(stock / fast, 1)}×)`,
    );
    disposeParams(model.params);
  }

  // 3. Scoring: the same reward model on ONNX and on tfjs.
  const model = tinyRewardModel(texts);
  const dir = mkdtempSync(join(tmpdir(), "ranklab-bench-"));
  exportBertOnnx(dir, model);
  const scorer = await OnnxBertScorer.open(dir, model);
  const batch = asItems(generateReviews(256, 5).map((r) => r.text));
  const onnxScore = await timeIt(() => scorer.score(batch, { maxLength: 96, batchSize: 64 }), { seconds: 3 });
  const tfjsScore = await timeIt(() => scoreItems(model, batch, { maxLength: 96, batchSize: 64 }), { seconds: 3 });
  await scorer.close();
  console.log(
    `scoring 256 reviews (d=128, 2 layers): onnxruntime ${fmt((256 / onnxScore) * 1000, 0)} texts/s, tfjs ${backend.name} ${fmt((256 / tfjsScore) * 1000, 0)} texts/s (ratio ${fmt(tfjsScore / onnxScore, 1)}×)`,
  );
  disposeParams(model.params);

  // 4. Generation: 16 prompts × 32 new tokens with the KV cache.
  const gptConfig = Gpt2ConfigSchema.parse({ vocab_size: 3000, n_positions: 128, n_embd: 128, n_layer: 2, n_head: 4 });
  const gpt: Gpt2Model = { config: gptConfig, tokenizer: model.tokenizer, params: initParams(gpt2ParamSpecs(gptConfig, true), 2), hasValueHead: true };
  exportGpt2Onnx(dir, gpt);
  const decoder = await OnnxGpt2Decoder.open(dir, gptConfig);
  const prompts = Array.from({ length: 16 }, (_, i) => [2, 10 + i, 20 + i, 30]);
  // No stop token: every row makes all 32 tokens, so both engines do the same work.
  const options = { maxNewTokens: 32, temperature: 1, topK: 0, topP: 1, seed: 1, stopTokens: [], padToken: 0, bannedTokens: [0] };
  const onnxGen = await timeIt(() => generate(decoder, prompts, options), { seconds: 4 });
  const tfjsGen = await timeIt(() => generate(tfjsDecoder(gpt), prompts, options), { seconds: 4 });
  await decoder.close();
  const tokens = 16 * 32;
  console.log(
    `generation, 16 × 32 new tokens (d=128, 2 layers, vocab 3000): onnxruntime ${fmt((tokens / onnxGen) * 1000, 0)} tokens/s, tfjs ${backend.name} ${fmt((tokens / tfjsGen) * 1000, 0)} tokens/s (ratio ${fmt(tfjsGen / onnxGen, 1)}×)`,
  );
  disposeParams(gpt.params);
}
