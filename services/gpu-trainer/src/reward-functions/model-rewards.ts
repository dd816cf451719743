import { join } from "node:path";
import { readBertDir, readJsonIfExists, type BertModel, type BertWeights } from "../io/bert-dir.ts";
import { bertParamSpecs } from "../models/bert.ts";
import { disposeParams, paramsFromStore } from "../models/params.ts";
import { OnnxBertScorer } from "../onnx/bert-session.ts";
import { exportBertOnnx } from "../onnx/export-bert.ts";
import { rewardInputOf, type RewardItem } from "../reward-model/reward-input.ts";
import { scoreItems } from "../reward-model/score-tfjs.ts";
import type { Generation, RewardFunction } from "./reward-function.ts";
import { ensureCurrentOnnx } from "../onnx/weights-stamp.ts";
import type { EngineName } from "../engine/engine-name.ts";

export interface ModelRewardOptions {
  /** onnx (default when it can be exported) or tfjs. */
  engine?: EngineName;
  maxLength?: number;
  batchSize?: number;
  /**
   * Report (reward − mean) / std with the checkpoint's own scale over its training texts
   * (metrics.json: train_reward_mean, train_reward_std), so a reward of 1 means "one
   * standard deviation better" whichever reward model is active.
   */
  normalize?: boolean;
}

/** The reward scale a ranklab reward checkpoint recorded; undefined for a folder without one. */
export function rewardScaleOf(dir: string): { mean: number; std: number } | undefined {
  const metrics = readJsonIfExists<Record<string, number>>(join(dir, "metrics.json"));
  const mean = metrics?.train_reward_mean;
  const std = metrics?.train_reward_std;
  return typeof mean === "number" && typeof std === "number" && std > 0 ? { mean, std } : undefined;
}

/**
 * A BERT-style checkpoint folder as a reward: a 2-label classifier gives P(positive)
 * (the seed's sentiment reward, 0.0–1.0); a 1-output reward model gives its reward.
 * Each (prompt, response) is fed as the model was trained (its `reward_input`).
 * Scoring runs on onnxruntime-node (model.onnx is exported next to the weights when
 * missing), or on tfjs.
 */
export async function modelReward(dir: string, options: ModelRewardOptions = {}): Promise<RewardFunction> {
  const model: BertWeights = readBertDir(dir);
  const engine = options.engine ?? "onnx";
  const maxLength = options.maxLength ?? Math.min(128, model.config.max_position_embeddings);
  const batchSize = options.batchSize ?? 64;
  const kind = model.config.num_labels === 2 ? "sentiment classifier P(positive)" : "reward model";
  const scale = options.normalize ? rewardScaleOf(dir) : undefined;
  if (options.normalize && !scale) throw new Error(`${dir}: no train_reward_mean/train_reward_std in metrics.json to normalise rewards with`);
  const normalise = (scores: number[]) => (scale ? scores.map((s) => (s - scale.mean) / scale.std) : scores);
  const items = (batch: readonly Generation[]): RewardItem[] => batch.map((g) => ({ prompt: g.prompt, completion: g.response }));
  const name = `${kind} (${dir}, input ${rewardInputOf(model.config)}${scale ? ", normalised" : ""}`;
  if (engine === "onnx") {
    ensureCurrentOnnx(dir, (d) => exportBertOnnx(d, model));
    const scorer = await OnnxBertScorer.open(dir, model);
    return {
      name: `${name}, onnxruntime)`,
      score: async (batch) => normalise(await scorer.score(items(batch), { maxLength, batchSize })),
      close: () => scorer.close(),
    };
  }
  // The tfjs reference path: variables made from the store.
  const tfjsModel: BertModel = { ...model, params: paramsFromStore(bertParamSpecs(model.config), model.weights) };
  return {
    name: `${name}, tfjs)`,
    score: async (batch) => normalise(scoreItems(tfjsModel, items(batch), { maxLength, batchSize })),
    close: async () => disposeParams(tfjsModel.params),
  };
}
