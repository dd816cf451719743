import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { ortSessionOptions } from "./session-options.ts";
import { requireCurrentOnnx } from "./weights-stamp.ts";
import type { BertModel } from "../io/bert-dir.ts";
import { encodeRewardItems, rewardInputOf, type RewardItem } from "../reward-model/reward-input.ts";
import { createOrtSession } from "./device.ts";

const int64 = (data: Int32Array | number[], dims: number[]) => new ort.Tensor("int64", BigInt64Array.from(Array.from(data, BigInt)), dims);

/**
 * A reward model or sentiment classifier on onnxruntime-node: the same scores as
 * scoreItems (tfjs), several times faster on CPU (see `npm run bench`), with the
 * input the model was trained on (its `reward_input`).
 */
export class OnnxBertScorer {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly model: Pick<BertModel, "config" | "tokenizer">,
  ) {}

  static async open(dir: string, model: Pick<BertModel, "config" | "tokenizer">, options: { threads?: number; spin?: boolean } = {}): Promise<OnnxBertScorer> {
    // A graph made from other weights than the folder's is never run (onnx/weights-stamp.ts).
    requireCurrentOnnx(dir);
    const path = join(dir, "model.onnx");
    const session = await createOrtSession(path, ortSessionOptions(options));
    return new OnnxBertScorer(session, model);
  }

  /** Raw head outputs, [items][num_labels]. */
  async logits(items: readonly RewardItem[], maxLength: number): Promise<number[][]> {
    if (items.length === 0) return [];
    const enc = encodeRewardItems(this.model.tokenizer, rewardInputOf(this.model.config), items, maxLength);
    const dims = [enc.batch, enc.length];
    const out = await this.session.run({
      input_ids: int64(enc.inputIds, dims),
      attention_mask: int64(enc.attentionMask, dims),
      token_type_ids: int64(enc.tokenTypeIds, dims),
    });
    const data = out.logits!.data as Float32Array;
    const labels = this.model.config.num_labels;
    return Array.from({ length: enc.batch }, (_, i) => Array.from(data.subarray(i * labels, (i + 1) * labels)));
  }

  /** One number per item, as scoreItems: the reward, or P(positive) for a classifier. */
  async score(items: readonly RewardItem[], options: { maxLength: number; batchSize: number }): Promise<number[]> {
    const out: number[] = [];
    for (let start = 0; start < items.length; start += options.batchSize) {
      const rows = await this.logits(items.slice(start, start + options.batchSize), options.maxLength);
      for (const row of rows) {
        if (row.length === 1) out.push(row[0]!);
        else {
          const max = Math.max(...row);
          const exps = row.map((v) => Math.exp(v - max));
          out.push(exps.at(-1)! / exps.reduce((a, b) => a + b, 0));
        }
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
