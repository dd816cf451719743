import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selectBackend } from "../src/backend/select-backend.ts";
import { generateReviews } from "../src/data/review-corpus.ts";
import { saveBertDir } from "../src/io/bert-dir.ts";
import { saveGpt2Dir } from "../src/io/gpt2-dir.ts";
import { BertConfigSchema, bertParamSpecs } from "../src/models/bert.ts";
import { gpt2ParamSpecs, Gpt2ConfigSchema } from "../src/models/gpt2.ts";
import { disposeParams, initParams } from "../src/models/params.ts";
import { PpoConfigSchema } from "../src/ppo/config.ts";
import { trainPpo, type EpochMetrics } from "../src/ppo/train.ts";
import { SEED_PROMPTS } from "../src/prepare/prepare.ts";
import { modelReward } from "../src/reward-functions/model-rewards.ts";
import { buildCharVocab } from "../src/tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../src/tokenizer/wordpiece.ts";
import { fmt } from "./timing.ts";
import type { EngineName } from "../src/engine/engine-name.ts";

/**
 * PPO steps at the demo's sizes (policy d=128 × 2 layers, classifier d=64 × 1, batch
 * 64, 16 new tokens), with untrained weights (the cost is the same): rollout tokens/s
 * and the step's time split into generation, scoring and optimisation, with the whole
 * step (rollouts, the reward model, the PPO updates: trainPpo's `engine`) on onnxruntime
 * against the whole step on tfjs in the same run.
 */
export async function benchPpoStep(): Promise<void> {
  const backend = await selectBackend();
  const dir = mkdtempSync(join(tmpdir(), "ranklab-bench-ppo-"));
  const vocab = buildCharVocab([...generateReviews(3000, 1).map((r) => r.text), ...SEED_PROMPTS], 8000);
  const tokenizer = new WordPieceTokenizer(vocab);
  const gpt = Gpt2ConfigSchema.parse({ vocab_size: vocab.tokens.length, n_positions: 64, n_embd: 128, n_layer: 2, n_head: 4 });
  const policy = { config: gpt, tokenizer, params: initParams(gpt2ParamSpecs(gpt), 1), hasValueHead: false };
  saveGpt2Dir(join(dir, "policy"), policy);
  disposeParams(policy.params);
  const cls = BertConfigSchema.parse({
    vocab_size: vocab.tokens.length,
    hidden_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 256,
    max_position_embeddings: 64,
    num_labels: 2,
    classifier_pooling: "mean",
  });
  const classifier = { config: cls, tokenizer, params: initParams(bertParamSpecs(cls), 2) };
  saveBertDir(join(dir, "classifier"), classifier);
  disposeParams(classifier.params);

  const steps = 4;
  const run = async (engine: EngineName) => {
    const reward = await modelReward(join(dir, "classifier"), { engine });
    // Generation is sampled until [SEP] or 16 tokens; an untrained policy rarely stops early.
    const history = await trainPpo(
      {
        policyDir: join(dir, "policy"),
        epochs: steps,
        prompts: SEED_PROMPTS,
        out: join(dir, `out-${engine}`),
        logsDir: join(dir, "logs"),
        runName: `bench-${engine}`,
        engine,
        samplesShown: 0,
        quiet: true,
        ppo: PpoConfigSchema.parse({}),
      },
      reward,
      () => {},
    );
    await reward.close?.();
    // The first step warms up kernels and sessions; report the rest.
    return history.slice(1);
  };
  const summary = (h: EpochMetrics[]) => {
    const sum = (f: (m: EpochMetrics) => number) => h.reduce((s, m) => s + f(m), 0);
    const total = sum((m) => m.seconds.generation + m.seconds.scoring + m.seconds.optimisation);
    const tokens = sum((m) => m.meanResponseLength * 64);
    return {
      steps: h.length,
      step: total / h.length,
      gen: sum((m) => m.seconds.generation),
      score: sum((m) => m.seconds.scoring),
      opt: sum((m) => m.seconds.optimisation),
      total,
      tokensPerSecond: tokens / sum((m) => m.seconds.generation),
    };
  };
  const onnx = summary(await run("onnx"));
  const tfjs = summary(await run("tfjs"));
  for (const [name, s] of [
    ["on onnxruntime", onnx],
    [`on tfjs ${backend.name} (baseline)`, tfjs],
  ] as const) {
    console.log(
      `PPO step, ${name}: ${fmt(s.step, 2)} s (generation ${fmt(s.gen / s.steps, 2)} s, scoring ${fmt(s.score / s.steps, 2)} s, optimisation ${fmt(s.opt / s.steps, 2)} s = ${fmt((100 * s.opt) / s.total, 0)}%); rollout ${fmt(s.tokensPerSecond, 0)} generated tokens/s`,
    );
  }
  console.log(
    `ratio tfjs/onnx step time: ${fmt(tfjs.step / onnx.step, 2)}×; optimisation ${fmt(tfjs.opt / onnx.opt, 2)}×; scoring ${fmt(tfjs.score / onnx.score, 2)}×; rollout throughput ${fmt(onnx.tokensPerSecond / tfjs.tokensPerSecond, 2)}×`,
  );
  rmSync(dir, { recursive: true, force: true });
}
