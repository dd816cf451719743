import { readBertDir } from "../io/bert-dir.ts";
import { OnnxBertScorer } from "../onnx/bert-session.ts";
import type { RewardItem } from "../reward-model/reward-input.ts";
import { exportBertOnnx } from "../onnx/export-bert.ts";

import type { CheckpointRef } from "../checkpoints/fetch.ts";
import { rewardScaleOf } from "../reward-functions/model-rewards.ts";
import { ensureCurrentOnnx } from "../onnx/weights-stamp.ts";

export type { CheckpointRef };

interface Loaded {
  ref: CheckpointRef;
  /** The checkpoint's reward mean and standard deviation over its training completions (metrics.json), when it recorded them. */
  scale: { mean: number; std: number } | undefined;
  scorer: OnnxBertScorer;
  maxLength: number;
  inFlight: number;
  retired: boolean;
}

/**
 * Scores with the active reward checkpoint and swaps to a new one without dropping a
 * request: the new model is loaded completely before it takes over, and the old one is
 * closed only when the requests that started on it have finished.
 */
export class HotSwapScorer {
  private current: Loaded | undefined;

  get checkpoint(): CheckpointRef | undefined {
    return this.current?.ref;
  }

  /** Loads `dir` (exporting model.onnx when missing or made from other weights) and makes it current. */
  async swapTo(dir: string, ref: CheckpointRef): Promise<void> {
    const model = readBertDir(dir);
    ensureCurrentOnnx(dir, (d) => exportBertOnnx(d, model));
    const scorer = await OnnxBertScorer.open(dir, model);
    const maxLength = Math.min(128, model.config.max_position_embeddings);
    const previous = this.current;
    this.current = { ref, scale: rewardScaleOf(dir), scorer, maxLength, inFlight: 0, retired: false };
    if (previous) {
      previous.retired = true;
      if (previous.inFlight === 0) await previous.scorer.close();
    }
  }

  /**
   * Scores on the checkpoint current when the call starts, with each score normalised by
   * the checkpoint's own scale ((score − mean) / std, so 1 means one standard deviation
   * better whichever model is live) when it recorded one; undefined when none is loaded.
   */
  async score(
    items: readonly RewardItem[],
  ): Promise<{ scores: number[]; normalizedScores: number[] | null; scale: { mean: number; std: number } | null; checkpoint: CheckpointRef } | undefined> {
    const loaded = this.current;
    if (!loaded) return undefined;
    loaded.inFlight++;
    try {
      const scores = await loaded.scorer.score(items, { maxLength: loaded.maxLength, batchSize: 64 });
      const scale = loaded.scale;
      return { scores, normalizedScores: scale ? scores.map((x) => (x - scale.mean) / scale.std) : null, scale: scale ?? null, checkpoint: loaded.ref };
    } finally {
      loaded.inFlight--;
      if (loaded.retired && loaded.inFlight === 0) await loaded.scorer.close();
    }
  }

  async close(): Promise<void> {
    if (this.current) await this.current.scorer.close();
    this.current = undefined;
  }
}
