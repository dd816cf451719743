import { exportGpt2Onnx } from "../onnx/export-gpt2.ts";
import { OnnxGpt2Decoder } from "../onnx/gpt2-session.ts";
import type { Gpt2Model } from "../io/gpt2-dir.ts";
import { tfjsDecoder } from "./decoder-tfjs.ts";
import { generate } from "./generate.ts";
import type { Sampling } from "./sampling.ts";

/**
 * An RL step's rollouts: the current policy continues `queries` ([CLS] + prompt tokens).
 * On onnxruntime the policy is exported to `onnxDir` first (it changed since the last
 * step). A response that ended itself keeps its [SEP], so the policy is rewarded for
 * stopping too; an empty one is [SEP] alone. Shared by PPO and GRPO.
 */
export async function sampleRollouts(
  policy: Gpt2Model,
  queries: readonly (readonly number[])[],
  sampling: Sampling & { bannedTokens: readonly number[] },
  engine: { kind: "onnx"; onnxDir: string } | { kind: "tfjs" },
): Promise<{ responses: number[][]; texts: string[] }> {
  const tok = policy.tokenizer;
  const options = { ...sampling, stopTokens: [tok.sep], padToken: tok.pad, bannedTokens: [...sampling.bannedTokens] };
  let generated: number[][];
  if (engine.kind === "onnx") {
    exportGpt2Onnx(engine.onnxDir, policy);
    // One thread: a rollout is many small sequential steps, and the other core is free for tfjs.
    const decoder = await OnnxGpt2Decoder.open(engine.onnxDir, policy.config, { threads: 1 });
    try {
      generated = await generate(decoder, queries.map((q) => [...q]), options);
    } finally {
      await decoder.close();
    }
  } else {
    generated = await generate(tfjsDecoder(policy), queries.map((q) => [...q]), options);
  }
  return {
    responses: generated.map((r) => (r.length < sampling.maxNewTokens ? [...r, tok.sep] : r.length > 0 ? r : [tok.sep])),
    texts: generated.map((r) => tok.decode(r)),
  };
}
