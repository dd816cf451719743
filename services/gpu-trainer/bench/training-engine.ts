import * as ort from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs";
import { matmulGraph, tinyRewardModel } from "./trainer-kernels.ts";
import { selectBackend } from "../src/backend/select-backend.ts";
import { AdamW } from "../src/engine/adamw.ts";
import { OnnxGpt2Engine } from "../src/engine/gpt2-engine.ts";
import { lmBatch, lmCrossEntropy, lmTargets } from "../src/engine/lm-loss.ts";
import type { Gpt2Model } from "../src/io/gpt2-dir.ts";
import { lmLoss } from "../src/lm/pretrain-gpt2.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema, type Gpt2Config } from "../src/models/gpt2.ts";
import { disposeParams, initParams, paramsFromTensors } from "../src/models/params.ts";
import { BertConfigSchema, bertForward, bertParamSpecs } from "../src/models/bert.ts";
import { generateReviews } from "../src/data/review-corpus.ts";
import { buildCharVocab } from "../src/tokenizer/build-vocab.ts";
import { rankLoss } from "../src/reward-model/rank-loss.ts";
import { OnnxBertEngine, rankLossGrad } from "../src/engine/bert-engine.ts";
import { ortSessionOptions } from "../src/onnx/session-options.ts";
import { vocabFromTokens } from "../src/tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../src/tokenizer/wordpiece.ts";
import { seededRandom } from "../src/util/random.ts";
import { fmt, timeIt } from "./timing.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { saveBertDir } from "../src/io/bert-dir.ts";
import { saveGpt2Dir } from "../src/io/gpt2-dir.ts";
import { PpoConfigSchema } from "../src/ppo/config.ts";
import { trainPpo } from "../src/ppo/train.ts";
import { SEED_PROMPTS } from "../src/prepare/prepare.ts";
import { modelReward } from "../src/reward-functions/model-rewards.ts";

const THREADS = 2;

/** onnxruntime's MatMul n³, with the engine's session options, measured between the steps it is the baseline for. */
class MatMulBaseline {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly a: ort.Tensor,
    private readonly n: number,
  ) {}

  static async open(n: number): Promise<MatMulBaseline> {
    const session = await ort.InferenceSession.create(matmulGraph(n), ortSessionOptions({ threads: THREADS }));
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

/**
 * FLOPs of one PPO epoch of trainPpo by phase, for `batch` rows of T tokens as the graphs
 * run them (each row padded to the longest prompt plus maxNewTokens; a forward is
 * 2 × matmul parameters × tokens plus attention's products, a forward+backward 3×):
 * generation with the key/value cache (causal attention, so half the T×T products),
 * the reward model's forward over the texts (T + [CLS] and [SEP]), the rollout statistics
 * (policy and reference forward), and ppoEpochs passes of forward+backward.
 */
function ppoEpochFlops(
  gpt: Gpt2Config,
  ernie: { hidden_size: number; num_hidden_layers: number; intermediate_size: number; vocab_size: number },
  batch: number,
  T: number,
  ppoEpochs: number,
) {
  const train = stepFlops(gpt, batch, T);
  const forward = train.total / 3;
  const generation = train.dense / 3 + train.attention / 3 / 2;
  const h = ernie.hidden_size;
  const Tr = T + 2;
  const scoring = 2 * ernie.num_hidden_layers * (4 * h * h + 2 * h * ernie.intermediate_size) * batch * Tr + 4 * ernie.num_hidden_layers * batch * Tr * Tr * h;
  const rolloutStats = 2 * forward;
  const updates = ppoEpochs * train.total;
  return {
    parameters: train.matmulParams,
    generation,
    scoring,
    optimisation: rolloutStats + updates,
    rolloutStats,
    updates,
    total: generation + scoring + rolloutStats + updates,
  };
}

const rowsOf = (batch: number, T: number, vocab: number, seed: number) => {
  const random = seededRandom(seed);
  return Array.from({ length: batch }, () => Array.from({ length: T }, () => 5 + Math.floor(random() * (vocab - 5))));
};

interface Measured {
  ms: number;
  ratio: number;
  /** The best round's GFLOP/s over the best round's MatMul GFLOP/s: less noisy where other work comes and goes. */
  best: number;
  rounds: string;
}

/**
 * The cores are shared with other work, so the baseline is measured in rounds between
 * the steps, and a figure's ratio is the median over rounds of step GFLOP/s over the
 * MatMul GFLOP/s measured next to it.
 */
async function measure(step: () => unknown, flop: number, matmul: MatMulBaseline, rounds: number, secondsPerRound: number): Promise<Measured> {
  const ms: number[] = [];
  const ratio: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const mm = await matmul.measure(Math.min(2, Math.max(1, secondsPerRound)));
    const stepMs = await timeIt(step, { seconds: secondsPerRound, warmup: 0, minRuns: 1 });
    ms.push(stepMs);
    baseline.push(mm);
    ratio.push(flop / stepMs / 1e6 / mm);
  }
  return {
    ms: median(ms),
    ratio: median(ratio),
    best: flop / Math.min(...ms) / 1e6 / Math.max(...baseline),
    rounds: ratio.map((r, i) => `${fmt(100 * r, 0)}% of ${fmt(baseline[i]!, 0)}`).join(", "),
  };
}

const report = (engine: string, m: Measured, tokens: number, flop: number, extra = "") =>
  console.log(
    `  ${engine}: ${fmt(m.ms, 0)} ms a step = ${fmt((tokens / m.ms) * 1000, 0)} tokens/s, ${fmt(flop / m.ms / 1e6, 1)} GFLOP/s = ${fmt(100 * m.ratio, 0)}% of MatMul's (median of rounds: ${m.rounds}; best round / best MatMul ${fmt(100 * m.best, 0)}%)${extra}`,
  );

/** `tfjs`: true to run tfjs on the same batch, { batch } for fewer rows, or why it is not run. */
async function benchModel(
  label: string,
  config: Gpt2Config,
  batch: number,
  T: number,
  matmul: MatMulBaseline,
  tfjs: true | { batch: number } | string,
): Promise<void> {
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
  parts.forward = parts.loss = parts.backward = parts.runs = 0;
  const onnx = await measure(step, flops.total, matmul, 5, big ? 0 : 1);
  const adam = new AdamW(engine.weights, { learningRate: 1e-4, weightDecay: 0.01 });
  const adamMs = await timeIt(() => adam.step(grads), { seconds: 0, warmup: 1, minRuns: big ? 2 : 5 });
  const per = (v: number) => fmt(v / parts.runs, 0);
  report(
    `onnxruntime (${THREADS} threads)`,
    onnx,
    batch * T,
    flops.total,
    `; mean forward ${per(parts.forward)} ms, loss ${per(parts.loss)} ms, backward ${per(parts.backward)} ms; AdamW step ${fmt(adamMs, 0)} ms`,
  );
  await engine.close();

  if (typeof tfjs !== "string") {
    // The full size fits tfjs's 4 GB wasm heap only at a smaller batch: `tfjs.batch` rows, its own FLOPs.
    const tfBatch = tfjs === true ? batch : tfjs.batch;
    const tfFlop = stepFlops(config, tfBatch, T).total;
    const tfRows = rows.slice(0, tfBatch);
    const tokenizer = new WordPieceTokenizer(vocabFromTokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], "bench"));
    const params = paramsFromTensors(
      gpt2ParamSpecs(config, false),
      new Map([...weights].map(([name, data]) => [name, { data, shape: gpt2ParamSpecs(config, false).find((s) => s.name === name)!.shape }])),
      "bench",
    );
    const model: Gpt2Model = { config, tokenizer, params, hasValueHead: false };
    const variables = [...params.values()];
    const tfStep = () => {
      const { value, grads } = tf.variableGrads(() => lmLoss(model, tfRows), variables);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    };
    try {
      tfStep();
      const m = await measure(tfStep, tfFlop, matmul, tfjs === true ? 3 : 2, tfjs === true ? 2 : 0);
      const perToken = (ms: number, tokens: number) => ms / tokens;
      report(
        `tfjs ${tf.getBackend()}${tfBatch === batch ? "" : ` on ${tfBatch} × ${T} tokens (${fmt(tfFlop / 1e9, 1)} GFLOP)`}`,
        m,
        tfBatch * T,
        tfFlop,
        `; onnxruntime / tfjs per token = ${fmt(perToken(m.ms, tfBatch) / perToken(onnx.ms, batch), 1)}×`,
      );
    } catch (error) {
      console.log(`  tfjs ${tf.getBackend()} on ${tfBatch} × ${T} tokens failed: ${String(error).slice(0, 200)}`);
    }
    disposeParams(params);
  } else {
    console.log(`  tfjs: not run (${tfjs})`);
  }
}

/**
 * The small reward model (bench trainer-kernels' shape: d=128, 2 layers, mean pooling)
 * under the rank loss: 32 texts × 96 tokens, 48 pairs. FLOPs = 6 × (encoder matmul
 * parameters) × tokens + attention 12 × layers × B × T² × d (the pooler and head act on
 * 32 rows, not counted).
 */
async function benchRewardModel(matmul: MatMulBaseline, withTfjs: boolean): Promise<void> {
  const texts = generateReviews(64, 3).map((r) => r.text);
  const model = tinyRewardModel(texts);
  const config = model.config;
  // Full rows (the batch's texts repeated to 96 tokens), so every figure counts real tokens.
  const long = texts.map((t, i) => (t + texts[(i + 1) % texts.length] + texts[(i + 2) % texts.length]).repeat(3));
  const enc = model.tokenizer.encodeBatch(long.slice(0, 32), 96);
  const better = Int32Array.from({ length: 48 }, (_, i) => Math.floor(i / 6) * 4 + [0, 0, 0, 1, 1, 2][i % 6]!);
  const worse = Int32Array.from({ length: 48 }, (_, i) => Math.floor(i / 6) * 4 + [1, 2, 3, 2, 3, 3][i % 6]!);
  const { hidden_size: H, intermediate_size: I, num_hidden_layers: L } = config;
  const tokens = enc.batch * enc.length;
  const matmulParams = L * (4 * H * H + 2 * H * I);
  const flop = 6 * matmulParams * tokens + 12 * L * enc.batch * enc.length ** 2 * H;
  console.log(
    `small reward model (BERT ${L} layers × ${H}, mean pooling, rank loss on 48 pairs): ${enc.batch} × ${enc.length} tokens; ${fmt(matmulParams / 1e6, 2)}M parameters in matmuls`,
  );
  console.log(
    `  FLOPs per forward+backward = 6 × ${fmt(matmulParams / 1e6, 2)}M × ${tokens} tokens + attention 12 × ${L} × ${enc.batch} × ${enc.length}² × ${H} = ${fmt(flop / 1e9, 2)} GFLOP`,
  );
  const engine = await OnnxBertEngine.fromModel(model, { threads: THREADS });
  const step = async () => {
    const fwd = await engine.forward(enc);
    return engine.backward(fwd, rankLossGrad(fwd.outputs, better, worse).dRewards);
  };
  await step();
  const onnx = await measure(step, flop, matmul, 5, 1);
  report(`onnxruntime (${THREADS} threads)`, onnx, tokens, flop);
  await engine.close();
  if (withTfjs) {
    const variables = [...model.params.values()];
    const tfStep = () => {
      const { value, grads } = tf.variableGrads(
        () =>
          rankLoss(
            tf.reshape(
              bertForward(model.params, config, {
                inputIds: tf.tensor2d(enc.inputIds, [enc.batch, enc.length], "int32"),
                attentionMask: tf.tensor2d(enc.attentionMask, [enc.batch, enc.length], "int32"),
              }),
              [enc.batch],
            ) as tf.Tensor1D,
            better,
            worse,
          ),
        variables,
      );
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    };
    tfStep();
    const tfjs = await measure(tfStep, flop, matmul, 3, 2);
    report(`tfjs ${tf.getBackend()}`, tfjs, tokens, flop, `; onnxruntime / tfjs = ${fmt(tfjs.ms / onnx.ms, 1)}×`);
  }
  disposeParams(model.params);
}

/**
 * The full-size PPO step on onnxruntime (trainPpo with engine "onnx", as `ppo demo` and the
 * daemon run it): a 12 × 768 GPT-2 policy with vocabulary 21,128 and an ERNIE-base-sized
 * reward model (12 × 768, same vocabulary), random weights, 16 new tokens, 4 PPO epochs.
 * `shape` is the batch: 8 samples in one minibatch (the step issue 14 sized memory by), or
 * the seed's epoch, 128 samples in minibatches of 16 (trl's tutorial). Prints each step's
 * generation, scoring and optimisation seconds; the
 * first step (session creation) is shown apart; each phase and the whole step as GFLOP/s and
 * as a share of MatMul 1024³ measured just before and after. tfjs is not run: its wasm heap cannot
 * hold this step (issue 14).
 */
/** The models a PPO bench runs: the seed's full size, or the loop's small ones (prepare's policy, the daemon's reward model from scratch). */
const PPO_SIZES = {
  full: {
    title: "GPT-2 12 × 768 policy and reference, ERNIE-base-sized reward model",
    vocab: 21128,
    gpt: { n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 },
    ernie: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, max_position_embeddings: 512 },
    newTokens: 16,
  },
  small: {
    title: "the loop's models: GPT-2 2 × 128 policy and reference, reward model 1 × 64",
    vocab: 3000,
    gpt: { n_positions: 128, n_embd: 128, n_layer: 2, n_head: 4 },
    ernie: { hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 256, max_position_embeddings: 64 },
    newTokens: 24,
  },
} as const;

async function benchPpoFullSize(shape: { batchSize: number; miniBatchSize: number; steps: number }, size: keyof typeof PPO_SIZES = "full"): Promise<void> {
  const sizes = PPO_SIZES[size];
  const dir = mkdtempSync(join(tmpdir(), "ranklab-bench-ppo-full-"));
  try {
    const chars = buildCharVocab([...generateReviews(2000, 1).map((r) => r.text), ...SEED_PROMPTS], sizes.vocab).tokens;
    // The rest of the vocabulary is further CJK characters, one token each, as in uer's 21,128-token vocabulary: the
    // policy's random samples then decode to as many characters as tokens, and the reward model scores ~T tokens a
    // row. (Filled with `[unusedN]` tokens, each sample decoded to ~11 characters a token and scoring ran on rows
    // of up to 128 tokens, 4–5× the work the FLOP count below assumes.)
    const known = new Set(chars);
    const fill: string[] = [];
    for (let code = 0x4e00; fill.length < sizes.vocab - chars.length && code <= 0x9fff; code++)
      if (!known.has(String.fromCodePoint(code))) fill.push(String.fromCodePoint(code));
    const tokens = [...chars, ...fill, ...Array.from({ length: sizes.vocab - chars.length - fill.length }, (_, i) => `[unused${i}]`)];
    const tokenizer = new WordPieceTokenizer(vocabFromTokens(tokens, "bench"));
    const gpt = Gpt2ConfigSchema.parse({ vocab_size: sizes.vocab, ...sizes.gpt });
    const policy = { config: gpt, tokenizer, params: initParams(gpt2ParamSpecs(gpt), 1), hasValueHead: false };
    saveGpt2Dir(join(dir, "policy"), policy);
    disposeParams(policy.params);
    const ernie = BertConfigSchema.parse({ vocab_size: sizes.vocab, ...sizes.ernie, num_labels: 1 });
    const rm = { config: ernie, tokenizer, params: initParams(bertParamSpecs(ernie), 2) };
    saveBertDir(join(dir, "reward"), rm);
    disposeParams(rm.params);
    // The scorer as `ppo demo` and the daemon open it (its default batch of 64).
    const reward = await modelReward(join(dir, "reward"), { engine: "onnx" });
    const { batchSize, miniBatchSize, steps } = shape;
    const ppo = PpoConfigSchema.parse({
      batchSize,
      miniBatchSize,
      ppoEpochs: 4,
      learningRate: 1.41e-5,
      generation: { maxNewTokens: sizes.newTokens, temperature: 1, topK: 0, topP: 1, seed: 0 },
    });
    // The baseline: onnxruntime's MatMul 1024³ with the engine's session options, just before and just after the run.
    const matmul = await MatMulBaseline.open(1024);
    const before = await matmul.measure(3);
    const history = await trainPpo(
      {
        policyDir: join(dir, "policy"),
        epochs: steps,
        prompts: SEED_PROMPTS,
        out: join(dir, "out"),
        logsDir: join(dir, "logs"),
        runName: "bench-full",
        engine: "onnx",
        samplesShown: 0,
        quiet: true,
        ppo,
      },
      reward,
      () => {},
    );
    const after = await matmul.measure(3);
    await matmul.close();
    await reward.close?.();
    const baseline = (before + after) / 2;
    const minibatches = batchSize / miniBatchSize;
    const T = 1 + Math.max(...SEED_PROMPTS.map((p) => tokenizer.encodeText(p).length)) + sizes.newTokens;
    const flops = ppoEpochFlops(gpt, ernie, batchSize, T, 4);
    console.log(
      `${size === "full" ? "full-size " : ""}PPO ${batchSize === 128 ? "epoch as the seed runs it" : "step"} on onnxruntime (${sizes.title}; batch ${batchSize}, ${sizes.newTokens} new tokens, 4 PPO epochs × ${minibatches} minibatch${minibatches > 1 ? "es" : ""} of ${miniBatchSize}; ` +
        `${fmt(flops.total / 1e12, 2)} TFLOP a step at ${T} tokens a row: generation ${fmt(flops.generation / 1e12, 2)}, scoring ${fmt(flops.scoring / 1e12, 2)}, optimisation ${fmt(flops.optimisation / 1e12, 2)} (rollout statistics ${fmt(flops.rolloutStats / 1e12, 2)})). ` +
        `Baseline: MatMul 1024³ ${fmt(before, 1)} GFLOP/s before, ${fmt(after, 1)} after; load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}:`,
    );
    const rate = (flop: number, seconds: number) => `${fmt(flop / seconds / 1e9, 1)} GFLOP/s = ${fmt((100 * flop) / seconds / 1e9 / baseline, 0)}% of MatMul`;
    for (const m of history) {
      const s = m.seconds;
      const total = s.generation + s.scoring + s.optimisation;
      console.log(
        `  step ${m.epoch}${m.epoch === 1 ? " (sessions created)" : ""}: ${fmt(total, 2)} s, ${rate(flops.total, total)}; generation ${fmt(s.generation, 2)} s (${fmt(m.meanResponseLength, 1)} tokens a response, from the engine's weights; ${rate(flops.generation, s.generation)}), ` +
          `scoring ${fmt(s.scoring, 2)} s (${rate(flops.scoring, s.scoring)}), optimisation ${fmt(s.optimisation, 2)} s (rollout statistics of policy and reference, ${4 * minibatches} × forward+backward+AdamW over ${fmt(flops.parameters / 1e6, 1)}M matmul parameters; ${rate(flops.optimisation, s.optimisation)})`,
      );
    }
    const later = history.slice(1);
    if (later.length > 0) {
      const seconds = later.reduce((a, m) => a + m.seconds.generation + m.seconds.scoring + m.seconds.optimisation, 0) / later.length;
      console.log(
        `  mean of steps 2–${history.length}: ${fmt(seconds, 2)} s, ${rate(flops.total, seconds)} over the whole step; the same work at MatMul's rate: ${fmt(flops.total / baseline / 1e9, 1)} s`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** BENCH_PPO_STEPS (3) steps of batch 8, BENCH_PPO_EPOCHS (2) of the seed's batch 128, BENCH_PPO_SMALL_STEPS (4) of the loop's small models; 0 skips any. */
async function benchPpoShapes(): Promise<void> {
  const steps = Number(process.env.BENCH_PPO_STEPS ?? 3);
  const epochs = Number(process.env.BENCH_PPO_EPOCHS ?? 2);
  if (steps > 0) await benchPpoFullSize({ batchSize: 8, miniBatchSize: 8, steps });
  if (epochs > 0) await benchPpoFullSize({ batchSize: 128, miniBatchSize: 16, steps: epochs });
  // The loop's PPO step as the daemon runs it (ppo.config: batch 32, minibatches of 8, 24 new tokens).
  const small = Number(process.env.BENCH_PPO_SMALL_STEPS ?? 4);
  if (small > 0) await benchPpoFullSize({ batchSize: 32, miniBatchSize: 8, steps: small }, "small");
}

/**
 * `npm run bench training-engine`: forward+backward of the small reward model, the
 * small GPT-2 and the full-size GPT-2 on the onnxruntime training engine (and tfjs where
 * it fits), each beside onnxruntime's MatMul 1024³ GFLOP/s
 * measured in the same process with the same session options.
 */
export async function benchTrainingEngine(): Promise<void> {
  // BENCH_ONLY=ppo runs the full-size PPO step and the seed's full-size epoch alone (minutes of the machine's memory and cores).
  if (process.env.BENCH_ONLY === "ppo") {
    await selectBackend("wasm");
    await benchPpoShapes();
    return;
  }
  // BENCH_TFJS=0 runs the onnxruntime figures only.
  const withTfjs = process.env.BENCH_TFJS !== "0";
  // tfjs initialises the models' weights either way.
  const backend = await selectBackend("wasm");
  const matmul = await MatMulBaseline.open(1024);
  console.log(
    `onnxruntime-node ${ort.env.versions.common}, ${THREADS} intra-op threads; tfjs ${withTfjs ? backend.name : "not run"}. Baseline: onnxruntime MatMul 1024³, ${fmt(await matmul.measure(3), 1)} GFLOP/s now, measured again between rounds`,
  );
  await benchRewardModel(matmul, withTfjs);
  const small = Gpt2ConfigSchema.parse({ vocab_size: 3000, n_positions: 128, n_embd: 128, n_layer: 2, n_head: 4 });
  await benchModel("small GPT-2 (prepare's policy)", small, 32, 64, matmul, withTfjs || "BENCH_TFJS=0");
  if (process.env.BENCH_SKIP_FULL !== "1") {
    const full = Gpt2ConfigSchema.parse({ vocab_size: 21128, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 });
    // tfjs's wasm heap stops at 4 GB: 8 × 64 tokens abort there (issue 14); 4 × 64 fit.
    await benchModel(
      "full-size GPT-2 (uer/gpt2-chinese-cluecorpussmall's shape, random weights)",
      full,
      8,
      64,
      matmul,
      withTfjs ? { batch: 4 } : "BENCH_TFJS=0",
    );
    await benchPpoShapes();
  }
  await matmul.close();
}
