import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadBertDir, type BertModel } from "../io/bert-dir.ts";
import { disposeParams } from "../models/params.ts";
import { OnnxBertScorer } from "../onnx/bert-session.ts";
import { exportBertOnnx } from "../onnx/export-bert.ts";
import { scoreTexts } from "../reward/score-tfjs.ts";
import type { Generation, RewardFunction } from "./reward-function.ts";

export interface ModelRewardOptions {
  /** onnx (default when it can be exported) or tfjs. */
  engine?: "onnx" | "tfjs";
  maxLength?: number;
  batchSize?: number;
  /** Score the prompt and response as a text pair instead of one text (reward models trained with prompts). */
  pairs?: boolean;
}

/**
 * A BERT-style checkpoint folder as a reward: a 2-label classifier gives P(positive)
 * (the seed's sentiment reward, 0.0–1.0) of prompt + response; a 1-output reward
 * model gives its raw reward. Scoring runs on onnxruntime-node (model.onnx is
 * exported next to the weights when missing), or on tfjs.
 */
export async function modelReward(dir: string, options: ModelRewardOptions = {}): Promise<RewardFunction> {
  const model: BertModel = loadBertDir(dir);
  const engine = options.engine ?? "onnx";
  const maxLength = options.maxLength ?? Math.min(128, model.config.max_position_embeddings);
  const batchSize = options.batchSize ?? 64;
  const kind = model.config.num_labels === 2 ? "sentiment classifier P(positive)" : "reward model";
  const texts = (batch: readonly Generation[]) => (options.pairs ? batch.map((g) => g.response) : batch.map((g) => g.prompt + g.response));
  const prompts = (batch: readonly Generation[]) => (options.pairs ? batch.map((g) => g.prompt) : undefined);
  if (engine === "onnx") {
    if (!existsSync(join(dir, "model.onnx"))) exportBertOnnx(dir, model);
    const scorer = await OnnxBertScorer.open(dir, model);
    disposeParams(model.params);
    return {
      name: `${kind} (${dir}, onnxruntime)`,
      score: (batch) => {
        const p = prompts(batch);
        return scorer.score(texts(batch), { maxLength, batchSize, ...(p ? { prompts: p } : {}) });
      },
      close: () => scorer.close(),
    };
  }
  return {
    name: `${kind} (${dir}, tfjs)`,
    score: async (batch) => {
      const p = prompts(batch);
      return scoreTexts(model, texts(batch), { maxLength, batchSize, ...(p ? { prompts: p } : {}) });
    },
    close: async () => disposeParams(model.params),
  };
}
