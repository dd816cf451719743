import type { TrainingGraphs } from "./saved-activations.ts";
import { bertParamSpecs, type BertConfig } from "../models/bert.ts";
import { GraphBuilder } from "../onnx/graph-builder.ts";
import { DataType, type ValueInfo } from "../onnx/proto.ts";
import { backwardContext, checkBackward, encoderBackward, floatInputs } from "./bert-encoder-backward.ts";
import { bertPrefix, classifierForward, encoderDropoutSites, encoderForward, encoderInputs, TRAINING_SOURCES } from "./bert-forward-graph.ts";

/**
 * The BERT/ERNIE encoder and its head (bertForward) as a training forward graph and a
 * hand-written backward graph, the same design as gpt2-graphs.ts. The forward graph is
 * bert-forward-graph.ts's (the one spelling of BERT's forward, model.onnx's too) in
 * training mode; the encoder's backward half (bert-encoder-backward.ts) is shared with
 * the masked-LM head (bert-mlm-graphs.ts).
 *
 * - forward: input_ids, token_type_ids (and bigram_ids with bigram buckets) [B, T]
 *   int64, attention_bias [B, 1, 1, T] (−1e9 on padding), pool_weights [B, T] (the
 *   head's input is Σ_t w_t·x_t: a one-hot on [CLS] for "cls" pooling, mask / count
 *   for "mean") → outputs [B, num_labels] and `saved.*`;
 * - backward: the same inputs but the bias, the saved activations, the weights and
 *   d_outputs [B, num_labels] → `grad.<name>` for every parameter.
 *
 * With `dropout`, both graphs also take inverted-dropout masks (0 where a unit is
 * dropped, 1/(1 − rate) elsewhere; bertForward's sites, dropoutSites): the forward pass
 * multiplies by them, the backward pass multiplies each gradient by the same mask. The
 * masks are inputs, drawn by the caller from a seeded generator, so a step is
 * reproducible and the tfjs reference can be given the very same masks.
 */
/** bertForward's dropout sites with their mask shapes ([tokens, H], or [batch, H] for the head). */
export function dropoutSites(config: BertConfig): { site: string; rows: "tokens" | "batch" }[] {
  return [...encoderDropoutSites(config).map((site) => ({ site, rows: "tokens" as const })), { site: "head", rows: "batch" }];
}

export type BertTrainingGraphs = TrainingGraphs;

const F = DataType.FLOAT;

export function bertTrainingGraphs(config: BertConfig, options: { dropout?: boolean } = {}): BertTrainingGraphs {
  const p = bertPrefix(config);
  const H = config.hidden_size;
  const L = config.num_labels;
  const dropout = options.dropout ?? false;
  const params = bertParamSpecs(config);
  const shapeOf = new Map(params.map((s) => [s.name, s.shape]));
  const idInputs: ValueInfo[] = [
    ...encoderInputs(config, dropout),
    { name: "pool_weights", dataType: F, dims: ["batch", "seq"] },
    ...(dropout ? [{ name: "dropout.head", dataType: F, dims: ["batch", H] }] : []),
  ];

  // ---------------------------------------------------------------- forward
  const f = new GraphBuilder("ranklab-bert-train-forward");
  const mode = { train: true, dropout } as const;
  const enc = encoderForward(f, config, mode, TRAINING_SOURCES);
  f.outputInPlace(classifierForward(f, config, mode, enc, TRAINING_SOURCES), "outputs");
  const { saved, savedDims } = enc;
  const forward = f.encode(
    [
      ...idInputs,
      { name: "attention_bias", dataType: F, dims: ["batch", 1, 1, "seq"] },
      ...floatInputs(
        params.map((s) => s.name),
        (n) => shapeOf.get(n)!,
      ),
    ],
    [{ name: "outputs", dataType: F, dims: ["batch", L] }, ...floatInputs(saved, (n) => savedDims.get(n)!)],
  );

  // ---------------------------------------------------------------- backward
  const g = new GraphBuilder("ranklab-bert-train-backward");
  const ctx = backwardContext(g);
  const masked = (site: string, t: string) => (dropout ? g.o("Mul", [t, `dropout.${site}`]) : t);
  let dFirst = masked("head", ctx.linearBack("classifier", masked("head", config.add_pooling_layer ? "saved.pooler" : "saved.pooled"), "d_outputs")); // [B, H]
  if (config.add_pooling_layer) {
    const dPre = g.o("Mul", [dFirst, g.o("Sub", [g.scalar(1), g.o("Mul", ["saved.pooler", "saved.pooler"])])]); // tanh' = 1 − z²
    dFirst = ctx.linearBack(`${p}.pooler.dense`, "saved.pooled", dPre);
  }
  // Pooling's backward: dx_t = w_t·d(pooled).
  const dx = g.o("Reshape", [g.o("Mul", [g.o("Unsqueeze", ["pool_weights", g.ints([2])]), g.o("Unsqueeze", [dFirst, g.ints([1])])]), g.ints([-1, H])]); // [N, H]
  const dE = encoderBackward(g, config, ctx, dx, { dropout });
  ctx.grad(ctx.scatterInto(config.vocab_size, H, "input_ids", dE), `${p}.embeddings.word_embeddings.weight`);

  const backwardParams = checkBackward(params, ctx);
  const backward = g.encode(
    [
      ...idInputs,
      { name: "d_outputs", dataType: F, dims: ["batch", L] },
      ...floatInputs(backwardParams, (n) => shapeOf.get(n)!),
      ...floatInputs(saved, (n) => savedDims.get(n)!),
    ],
    params.map((s): ValueInfo => ({ name: `grad.${s.name}`, dataType: F, dims: s.shape })),
  );
  return { forward, backward, saved, params, backwardParams };
}
