import type { OnnxBertEngine } from "../engine/bert-engine.ts";
import type { BertBase } from "../io/bert-dir.ts";
import { encodeRewardItems, rewardInputOf, type RewardItem } from "./reward-input.ts";

/**
 * One number per item from the training engine's weights as they are (no dropout): the
 * reward, or P(positive) for a two-label classifier, as scoreItems (tfjs) and the
 * onnxruntime scorer (model.onnx) give it. For evaluation while the store trains, with no
 * copy out of it and no export.
 */
export async function scoreItemsOnEngine(
  engine: OnnxBertEngine,
  model: BertBase,
  items: readonly RewardItem[],
  options: { maxLength: number; batchSize: number },
): Promise<number[]> {
  const out: number[] = [];
  const labels = model.config.num_labels;
  for (let start = 0; start < items.length; start += options.batchSize) {
    const enc = encodeRewardItems(model.tokenizer, rewardInputOf(model.config), items.slice(start, start + options.batchSize), options.maxLength);
    const outputs = await engine.outputs(enc);
    for (let i = 0; i < enc.batch; i++) {
      if (labels === 1) out.push(outputs[i]!);
      else {
        // P(last label): the classifier's positive class, as the scorers give it.
        const row = outputs.subarray(i * labels, (i + 1) * labels);
        const max = Math.max(...row);
        let total = 0;
        for (const v of row) total += Math.exp(v - max);
        out.push(Math.exp(row[labels - 1]! - max) / total);
      }
    }
  }
  return out;
}
