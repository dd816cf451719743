import type { Gpt2Weights } from "../io/gpt2-dir.ts";
import { gpt2ParamSpecs } from "../models/gpt2.ts";
import { disposeParams, paramsFromStore } from "../models/params.ts";
import { OnnxGpt2Decoder } from "../onnx/gpt2-session.ts";
import { tfjsDecoder } from "./decoder-tfjs.ts";
import { generate } from "./generate.ts";
import type { Sampling } from "./sampling.ts";
import { samplingBannedTokens } from "./banned-tokens.ts";
import { exportGpt2Onnx } from "../onnx/export-gpt2.ts";
import { ensureCurrentOnnx } from "../onnx/weights-stamp.ts";
import type { EngineName } from "../engine/engine-name.ts";

export interface PolicySamples {
  prompts: string[];
  /** [CLS] + prompt tokens, as PPO feeds them. */
  queries: number[][];
  /** The generated tokens, with the [SEP] a response that ended itself wrote (PPO scores stopping too). */
  responses: number[][];
  texts: string[];
}

/**
 * Continuations of `prompts` by a policy loaded from `dir`: on onnxruntime (its
 * model.onnx exported first when missing or made from other weights), or on tfjs when
 * asked. The same seed gives the same samples.
 */
export async function samplePolicy(
  model: Gpt2Weights,
  dir: string,
  prompts: readonly string[],
  sampling: Sampling,
  engine: EngineName = "onnx",
): Promise<PolicySamples> {
  const tok = model.tokenizer;
  const queries = prompts.map((p) => [tok.cls, ...tok.encodeText(p)]);
  const options = { ...sampling, stopTokens: [tok.sep], padToken: tok.pad, bannedTokens: samplingBannedTokens(tok) };
  let generated: number[][];
  if (engine === "onnx") {
    ensureCurrentOnnx(dir, (d) => exportGpt2Onnx(d, model));
    const decoder = await OnnxGpt2Decoder.open(dir, model.config, { threads: 1 });
    try {
      generated = await generate(decoder, queries, options);
    } finally {
      await decoder.close();
    }
  } else {
    // The tfjs reference path: variables made from the store for this call.
    const params = paramsFromStore(gpt2ParamSpecs(model.config, model.hasValueHead), model.weights);
    try {
      generated = await generate(tfjsDecoder({ ...model, params }), queries, options);
    } finally {
      disposeParams(params);
    }
  }
  return {
    prompts: [...prompts],
    queries,
    responses: generated.map((r) => (r.length < sampling.maxNewTokens ? [...r, tok.sep] : r.length > 0 ? r : [tok.sep])),
    texts: generated.map((r) => tok.decode(r)),
  };
}
