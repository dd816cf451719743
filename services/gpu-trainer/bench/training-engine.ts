import * as ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/backend/select-backend.ts";
import { AdamW } from "../src/engine/adamw.ts";
import { OnnxGpt2Engine } from "../src/engine/gpt2-engine.ts";
import { lmBatch, lmCrossEntropy, lmTargets } from "../src/engine/lm-loss.ts";
import type { Gpt2Model } from "../src/io/gpt2-dir.ts";
import { lmLoss } from "../src/lm/pretrain-gpt2.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema, type Gpt2Config } from "../src/models/gpt2.ts";
import { disposeParams, paramsFromTensors } from "../src/models/params.ts";
import { GraphBuilder } from "../src/onnx/graph-builder.ts";
import { DataType } from "../src/onnx/proto.ts";
import { ortSessionOptions } from "../src/onnx/session-options.ts";
import { vocabFromTokens } from "../src/tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../src/tokenizer/wordpiece.ts";
import { seededRandom } from "../src/util/random.ts";
import { fmt, timeIt } from "./timing.ts";

const THREADS = 2;

/** onnxruntime's MatMul n³, with the engine's session options, measured between the steps it is the baseline for. */
class MatMulBaseline {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly a: ort.Tensor,
    private readonly n: number,
  ) {}

  static async open(n: number): Promise<MatMulBaseline> {
    const g = new GraphBuilder("matmul");
    g.output(g.o("MatMul", ["a", "b"]), "c");
    const bytes = g.encode(
      [
        { name: "a", dataType: DataType.FLOAT, dims: [n, n] },
        { name: "b", dataType: DataType.FLOAT, dims: [n, n] },
      ],
      [{ name: "c", dataType: DataType.FLOAT, dims: [n, n] }],
    );
    const session = await ort.InferenceSession.create(bytes, ortSessionOptions({ threads: THREADS }));
    return new MatMulBaseline(session, new ort.Tensor("float32", Float32Array.from({ length: n * n }, Math.random), [n, n]), n);
  }

  /** GFLOP/s over about `seconds`. */
  async measure(seconds: number): Promise<number> {
    const ms = await timeIt(() => this.session.run({ a: this.a, b: this.a }), { seconds });
    return (2 * this.n ** 3) / ms / 1e6;
  }

  close() {
    return this.session.release();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Seeded random weights as GPT-2 initialises them (N(0, 0.02)-like: uniform with that deviation; LayerNorm 1, biases 0). */
function randomWeights(config: Gpt2Config, seed: number): Map<string, Float32Array> {
  const random = seededRandom(seed);
  const half = 0.02 * Math.sqrt(3);
  const weights = new Map<string, Float32Array>();
  for (const spec of gpt2ParamSpecs(config, false)) {
    const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    if (spec.init === "ones") data.fill(1);
    else if (spec.init === "normal") for (let i = 0; i < data.length; i++) data[i] = (2 * random() - 1) * half;
    weights.set(spec.name, data);
  }
  return weights;
}

/**
 * FLOPs of one forward+backward: 6 × (matmul parameters) × tokens, counting every
 * weight matrix (the tied LM head once, as it multiplies once) but not the position
 * table, biases or LayerNorms (no matmul), plus attention's two T×T products per layer,
 * 3 × 4·T²·d per sequence (forward 1×, backward 2×; the full T×T, as computed).
 */
function stepFlops(config: Gpt2Config, batch: number, T: number) {
  const d = config.n_embd;
  const inner = config.n_inner ?? 4 * d;
  const matmulParams = config.n_layer * (d * 3 * d + d * d + 2 * d * inner) + config.vocab_size * d;
  const dense = 6 * matmulParams * batch * T;
  const attention = 12 * config.n_layer * batch * T * T * d;
  return { matmulParams, dense, attention, total: dense + attention };
}

const rowsOf = (batch: number, T: number, vocab: number, seed: number) => {
  const random = seededRandom(seed);
  return Array.from({ length: batch }, () => Array.from({ length: T }, () => 5 + Math.floor(random() * (vocab - 5))));
};

/**
 * The cores are shared with other work, so the baseline is measured in rounds between
 * the steps, and each figure's ratio is the median over rounds of step GFLOP/s over the
 * MatMul GFLOP/s measured next to it.
 */
async function benchModel(label: string, config: Gpt2Config, batch: number, T: number, matmul: MatMulBaseline, withTfjs: boolean): Promise<void> {
  const flops = stepFlops(config, batch, T);
  const weights = randomWeights(config, 1);
  let all = 0;
  for (const w of weights.values()) all += w.length;
  console.log(
    `${label}: ${config.n_layer} layers × ${config.n_embd}, vocab ${config.vocab_size}, ${batch} × ${T} tokens; ${fmt(all / 1e6, 2)}M parameters, ${fmt(flops.matmulParams / 1e6, 2)}M in matmuls`,
  );
  console.log(
    `  FLOPs per forward+backward = 6 × ${fmt(flops.matmulParams / 1e6, 2)}M × ${batch * T} tokens (${fmt(flops.dense / 1e9, 2)} G) + attention 12 × ${config.n_layer} layers × ${batch} × ${T}² × ${config.n_embd} (${fmt(flops.attention / 1e9, 2)} G) = ${fmt(flops.total / 1e9, 2)} GFLOP`,
  );
  const rows = rowsOf(batch, T, config.vocab_size, 2);
  const lmRows = lmBatch(rows, 0);
  const targets = lmTargets(lmRows);

  const engine = await OnnxGpt2Engine.create(config, weights, false, { threads: THREADS });
  const parts = { forward: 0, loss: 0, backward: 0, runs: 0 };
  const step = async () => {
    const t0 = performance.now();
    const fwd = await engine.forward(lmRows, targets);
    const t1 = performance.now();
    const { dLogprobs } = lmCrossEntropy(fwd.targetLogprobs, lmRows);
    const t2 = performance.now();
    const grads = await engine.backward(fwd, dLogprobs);
    const t3 = performance.now();
    parts.forward += t1 - t0;
    parts.loss += t2 - t1;
    parts.backward += t3 - t2;
    parts.runs++;
    return grads;
  };
  const big = flops.total > 1e11;
  const grads = await step(); // warm-up
  const rounds = { ms: [] as number[], matmul: [] as number[], ratio: [] as number[] };
  parts.forward = parts.loss = parts.backward = parts.runs = 0;
  for (let round = 0; round < (big ? 3 : 5); round++) {
    const mm = await matmul.measure(big ? 2 : 1);
    const ms = await timeIt(step, big ? { seconds: 0, warmup: 0, minRuns: 1 } : { seconds: 1, warmup: 0 });
    rounds.ms.push(ms);
    rounds.matmul.push(mm);
    rounds.ratio.push(flops.total / ms / 1e6 / mm);
  }
  const adam = new AdamW(engine.weights, { learningRate: 1e-4, weightDecay: 0.01 });
  const adamMs = await timeIt(() => adam.step(grads), { seconds: 0, warmup: 1, minRuns: big ? 2 : 5 });
  const onnxMs = median(rounds.ms);
  const per = (v: number) => fmt(v / parts.runs, 0);
  console.log(
    `  onnxruntime (${THREADS} threads): ${fmt(onnxMs, 0)} ms a step (mean forward ${per(parts.forward)}, loss ${per(parts.loss)}, backward ${per(parts.backward)}) = ${fmt(((batch * T) / onnxMs) * 1000, 0)} tokens/s, ${fmt(flops.total / onnxMs / 1e6, 1)} GFLOP/s; ${fmt(100 * median(rounds.ratio), 0)}% of MatMul (median of ${rounds.ratio.length} rounds: ${rounds.ratio.map((r, i) => `${fmt(100 * r, 0)}% of ${fmt(rounds.matmul[i]!, 0)}`).join(", ")}); AdamW step ${fmt(adamMs, 0)} ms`,
  );
  await engine.close();

  if (withTfjs) {
    const tokenizer = new WordPieceTokenizer(vocabFromTokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], "bench"));
    const params = paramsFromTensors(
      gpt2ParamSpecs(config, false),
      new Map([...weights].map(([name, data]) => [name, { data, shape: gpt2ParamSpecs(config, false).find((s) => s.name === name)!.shape }])),
      "bench",
    );
    const model: Gpt2Model = { config, tokenizer, params, hasValueHead: false };
    const variables = [...params.values()];
    const tfStep = () => {
      const { value, grads } = tf.variableGrads(() => lmLoss(model, rows), variables);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    };
    tfStep();
    const tfRounds = { ms: [] as number[], ratio: [] as number[] };
    for (let round = 0; round < 3; round++) {
      const mm = await matmul.measure(1);
      const ms = await timeIt(tfStep, { seconds: 2, warmup: 0 });
      tfRounds.ms.push(ms);
      tfRounds.ratio.push(flops.total / ms / 1e6 / mm);
    }
    const tfMs = median(tfRounds.ms);
    console.log(
      `  tfjs ${tf.getBackend()}: ${fmt(tfMs, 0)} ms a step = ${fmt(((batch * T) / tfMs) * 1000, 0)} tokens/s, ${fmt(flops.total / tfMs / 1e6, 1)} GFLOP/s; ${fmt(100 * median(tfRounds.ratio), 0)}% of MatMul; onnxruntime / tfjs = ${fmt(tfMs / onnxMs, 1)}×`,
    );
    disposeParams(params);
  } else {
    console.log(withTfjs ? "  tfjs: not run at this size (the wasm heap stops at 4 GB: a full-size forward+backward on 8 × 64 tokens aborts, issue 14)" : "  tfjs: not run (BENCH_TFJS=0)");
  }
}

/**
 * `npm run bench training-engine`: GPT-2 forward+backward on the onnxruntime training
 * engine (and tfjs where it fits), each beside onnxruntime's MatMul 1024³ GFLOP/s
 * measured in the same process with the same session options.
 */
export async function benchTrainingEngine(): Promise<void> {
  // BENCH_TFJS=0 runs the onnxruntime figures only.
  const withTfjs = process.env.BENCH_TFJS !== "0";
  const backend = withTfjs ? await selectBackend("wasm") : { name: "not run" };
  const matmul = await MatMulBaseline.open(1024);
  console.log(`onnxruntime-node ${ort.env.versions.common}, ${THREADS} intra-op threads; tfjs ${backend.name}. Baseline: onnxruntime MatMul 1024³, ${fmt(await matmul.measure(3), 1)} GFLOP/s now, measured again between rounds`);
  const small = Gpt2ConfigSchema.parse({ vocab_size: 3000, n_positions: 128, n_embd: 128, n_layer: 2, n_head: 4 });
  await benchModel("small GPT-2 (prepare's policy)", small, 32, 64, matmul, withTfjs);
  if (process.env.BENCH_SKIP_FULL !== "1") {
    const full = Gpt2ConfigSchema.parse({ vocab_size: 21128, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 });
    await benchModel("full-size GPT-2 (uer/gpt2-chinese-cluecorpussmall's shape, random weights)", full, 8, 64, matmul, false);
  }
  await matmul.close();
}
