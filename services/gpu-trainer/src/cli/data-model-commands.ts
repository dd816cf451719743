import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { generateRankLists, generateReviews, toRankTsv } from "../data/review-corpus.ts";
import { UserError } from "../errors.ts";
import { tfjsDecoder } from "../generation/decoder-tfjs.ts";
import { generate } from "../generation/generate.ts";
import { SamplingSchema } from "../generation/sampling.ts";
import { readBertDir } from "../io/bert-dir.ts";
import { readGpt2Dir } from "../io/gpt2-dir.ts";
import { parseOrExplain, readJsonFile } from "../io/json-file.ts";
import { gpt2ParamSpecs } from "../models/gpt2.ts";
import { disposeParams, paramsFromStore } from "../models/params.ts";
import { exportBertOnnx } from "../onnx/export-bert.ts";
import { exportGpt2Onnx } from "../onnx/export-gpt2.ts";
import { OnnxGpt2Decoder } from "../onnx/gpt2-session.ts";
import { resolveModelDir } from "../hub/resolve-model.ts";
import { intFlag, numberFlag, parseCommandArgs } from "./args.ts";
import { samplingBannedTokens } from "../generation/banned-tokens.ts";
import { ensureCurrentOnnx } from "../onnx/weights-stamp.ts";

/** `data generate`: the project's own review corpus and rank lists (train and dev never share a text). */
export function dataGenerate(argv: string[]): void {
  const { values } = parseCommandArgs("data generate", argv, {
    out: { type: "string" },
    "train-lists": { type: "string" },
    "dev-lists": { type: "string" },
    reviews: { type: "string" },
    seed: { type: "string" },
  });
  if (!values.out) throw new UserError("data generate: --out DIR is required");
  const seed = intFlag("seed", values.seed, 1)!;
  mkdirSync(values.out, { recursive: true });
  const train = generateRankLists(intFlag("train-lists", values["train-lists"], 2000)!, seed);
  const dev = generateRankLists(intFlag("dev-lists", values["dev-lists"], 300)!, seed + 1, new Set(train.flatMap((l) => l.texts)));
  const reviews = generateReviews(intFlag("reviews", values.reviews, 20000)!, seed + 2);
  writeFileSync(join(values.out, "rank_train.tsv"), toRankTsv(train));
  writeFileSync(join(values.out, "rank_dev.tsv"), toRankTsv(dev));
  writeFileSync(join(values.out, "reviews.jsonl"), reviews.map((r) => JSON.stringify(r)).join("\n") + "\n");
  console.log(`wrote ${train.length} train and ${dev.length} dev rank lists and ${reviews.length} labelled reviews to ${values.out}`);
}

const KindSchema = z.object({ model_type: z.string().optional(), architectures: z.array(z.string()).optional() }).passthrough();

/** `onnx export DIR`: writes DIR/model.onnx for a GPT-2 or BERT-style checkpoint folder (an hf: name: into its cache snapshot). */
export async function onnxExport(argv: string[]): Promise<void> {
  const { positionals } = parseCommandArgs("onnx export", argv, {});
  if (positionals.length === 0) throw new UserError("onnx export: give one or more checkpoint folders");
  for (const ref of positionals) {
    const dir = await resolveModelDir(ref);
    const kind = readJsonFile(join(dir, "config.json"), KindSchema);
    if (kind.model_type === "gpt2") {
      const model = readGpt2Dir(dir);
      console.log(`${exportGpt2Onnx(dir, model)} (GPT-2, ${model.config.n_layer} layers)`);
    } else {
      const model = readBertDir(dir);
      console.log(`${exportBertOnnx(dir, model)} (${model.config.model_type}, ${model.config.num_labels} output(s))`);
    }
  }
}

/** `generate`: continuations of prompts from a GPT-2 folder, on onnxruntime (default) or tfjs (`--engine tfjs`). */
export async function generateCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs("generate", argv, {
    model: { type: "string" },
    "max-new-tokens": { type: "string" },
    temperature: { type: "string" },
    "top-k": { type: "string" },
    "top-p": { type: "string" },
    seed: { type: "string" },
    samples: { type: "string" },
    engine: { type: "string" },
    backend: { type: "string" },
  });
  if (!values.model) throw new UserError("generate: --model DIR is required (a GPT-2 folder, or hf:owner/name)");
  if (positionals.length === 0) throw new UserError("generate: give one or more prompts");
  const sampling = parseOrExplain("generate flags", SamplingSchema, {
    maxNewTokens: intFlag("max-new-tokens", values["max-new-tokens"], 32),
    temperature: numberFlag("temperature", values.temperature, 1),
    topK: intFlag("top-k", values["top-k"], 0),
    topP: numberFlag("top-p", values["top-p"], 1),
    seed: intFlag("seed", values.seed, 0),
  });
  const modelDir = await resolveModelDir(values.model);
  const model = readGpt2Dir(modelDir);
  const tok = model.tokenizer;
  const engine = values.engine ?? "onnx";
  if (engine !== "onnx" && engine !== "tfjs") throw new UserError(`generate: --engine must be onnx or tfjs, got "${engine}"`);
  const samples = intFlag("samples", values.samples, 1)!;
  const prompts = positionals.flatMap((p) => Array.from({ length: samples }, () => p));
  const ids = prompts.map((p) => [tok.cls, ...tok.encodeText(p)]);
  const options = { ...sampling, stopTokens: [tok.sep], padToken: tok.pad, bannedTokens: samplingBannedTokens(tok) };
  let out: number[][];
  if (engine === "onnx") {
    const why = ensureCurrentOnnx(modelDir, (d) => exportGpt2Onnx(d, model));
    if (why) console.error(`generate: exported ${join(modelDir, "model.onnx")} (${why})`);
    const decoder = await OnnxGpt2Decoder.open(modelDir, model.config);
    out = await generate(decoder, ids, options);
    await decoder.close();
  } else {
    // The tfjs reference path: variables made from the store.
    const params = paramsFromStore(gpt2ParamSpecs(model.config, model.hasValueHead), model.weights);
    out = await generate(tfjsDecoder({ ...model, params }), ids, options);
    disposeParams(params);
  }
  prompts.forEach((p, i) => console.log(`${p}${tok.decode(out[i]!)}`));
}
