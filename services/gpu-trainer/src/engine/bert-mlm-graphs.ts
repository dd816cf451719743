import type { ParamSpec } from "../models/params.ts";
import type { BertConfig } from "../models/bert.ts";
import { GraphBuilder, onnxActivation } from "../onnx/graph-builder.ts";
import { DataType, type ValueInfo } from "../onnx/proto.ts";
import { activationBackward } from "./backward-ops.ts";
import { backwardContext, checkBackward, encoderBackward, floatInputs } from "./bert-encoder-backward.ts";
import { bertEncoderSpecs, bertPrefix, encoderForward, encoderInputs, TRAINING_SOURCES } from "./bert-forward-graph.ts";
import { activationSaver, type TrainingGraphs } from "./saved-activations.ts";

/** Hugging Face's BertForMaskedLM head (`cls.predictions`); its decoder is tied to the word embeddings, so it has only a bias. */
export function mlmHeadSpecs(config: BertConfig): ParamSpec[] {
  const H = config.hidden_size;
  return [
    { name: "cls.predictions.transform.dense.weight", shape: [H, H], init: "normal" },
    { name: "cls.predictions.transform.dense.bias", shape: [H], init: "zeros" },
    { name: "cls.predictions.transform.LayerNorm.weight", shape: [H], init: "ones" },
    { name: "cls.predictions.transform.LayerNorm.bias", shape: [H], init: "zeros" },
    { name: "cls.predictions.bias", shape: [config.vocab_size], init: "zeros" },
  ];
}

/** params: the encoder's parameters (no pooler, no classifier), then the head's. */
export type BertMlmGraphs = TrainingGraphs;

const F = DataType.FLOAT;
/** The masked positions' rows: M of them in a batch. */
const MASKED = "masked";

/**
 * Masked-LM pretraining as a training forward graph and a hand-written backward graph:
 * the encoder's forward (bert-forward-graph.ts) and backward (bert-encoder-backward.ts)
 * halves, dropout masks as there, under
 * BertForMaskedLM's head, designed as GPT-2's tied LM head (gpt2-graphs.ts):
 *
 * - forward: the encoder's inputs, attention_bias [B, 1, 1, T], masked_positions [M]
 *   (flat row × T + column indices of the positions to predict) and labels [M] (their
 *   original tokens), int64 → target_logprobs [M, 1] (log p(label)) and `saved.*`. Only
 *   the masked rows carry loss, so their hidden states are gathered before the head:
 *   dense → activation → LayerNorm → logits = h·Eᵀ + bias (E the word embeddings) over
 *   M rows, not B·T; the softmax over the vocabulary runs here;
 * - backward: the same ids, the saved activations, the weights and dlogprobs [M, 1]
 *   (dL/d target_logprobs) → `grad.<name>` for every parameter. With c = −dlogprobs,
 *   dL/dlogits = c·(p − one-hot(label)) is never formed as [M, V]: E's gradient is
 *   pᵀ·(c·h) with −c·h added at the label rows and the encoder's dE at the input rows
 *   (the tie: one scatter into one table), the bias's cᵀ·p with −c at the labels, and
 *   dh = (p·E − E[label])·c.
 */
export function bertMlmGraphs(config: BertConfig, options: { dropout?: boolean } = {}): BertMlmGraphs {
  const p = bertPrefix(config);
  const H = config.hidden_size;
  const dropout = options.dropout ?? false;
  const params = [...bertEncoderSpecs(config), ...mlmHeadSpecs(config)];
  const shapeOf = new Map(params.map((s) => [s.name, s.shape]));
  const words = `${p}.embeddings.word_embeddings.weight`;
  const head = "cls.predictions";
  const idInputs: ValueInfo[] = [
    ...encoderInputs(config, dropout),
    { name: "masked_positions", dataType: DataType.INT64, dims: [MASKED] },
    { name: "labels", dataType: DataType.INT64, dims: [MASKED] },
  ];

  // ---------------------------------------------------------------- forward
  const f = new GraphBuilder("ranklab-bert-mlm-forward");
  const enc = encoderForward(f, config, { train: true, dropout }, TRAINING_SOURCES); // x [N, H]
  const headSaver = activationSaver(f, { width: H, eps: config.layer_norm_eps, tokens: MASKED, suffix: "mlm" });
  const picked = f.o("Gather", [enc.x, "masked_positions"], { axis: 0 }); // [M, H]
  enc.save(picked, "saved.mlm.picked", [MASKED, H]);
  const pre = enc.linear(`${head}.transform.dense`, picked); // [M, H]
  enc.save(pre, "saved.mlm.fc", [MASKED, H]);
  const h = headSaver.layerNorm(`${head}.transform.LayerNorm`, onnxActivation(f, config.hidden_act, pre), "mlm"); // [M, H]
  const logits = f.o("Gemm", [h, words, `${head}.bias`], { transB: 1 }); // [M, V]: h·Eᵀ + bias
  const probs = f.o("Softmax", [logits], { axis: -1 });
  enc.save(probs, "saved.mlm.probs", [MASKED, config.vocab_size]);
  f.outputInPlace(f.o("Log", [f.o("GatherElements", [probs, f.o("Reshape", ["labels", f.ints([-1, 1])])], { axis: 1 })]), "target_logprobs"); // [M, 1]
  const saved = [...enc.saved, ...headSaver.saved];
  const savedDims = new Map([...enc.savedDims, ...headSaver.savedDims]);
  const forward = f.encode(
    [
      ...idInputs,
      { name: "attention_bias", dataType: F, dims: ["batch", 1, 1, "seq"] },
      ...floatInputs(
        params.map((s) => s.name),
        (n) => shapeOf.get(n)!,
      ),
    ],
    [{ name: "target_logprobs", dataType: F, dims: [MASKED, 1] }, ...floatInputs(saved, (n) => savedDims.get(n)!)],
  );

  // ---------------------------------------------------------------- backward
  const g = new GraphBuilder("ranklab-bert-mlm-backward");
  const ctx = backwardContext(g);
  const { w, grad } = ctx;
  const labelRows = g.o("Reshape", ["labels", g.ints([-1, 1])]); // [M, 1]
  const c = g.o("Neg", ["dlogprobs"]); // [M, 1]
  const hB = ctx.normed(`${head}.transform.LayerNorm`, "mlm");
  const scaledH = g.o("Mul", [hB, c]); // [M, H]
  // The decoder bias: Σ_rows c·p (cᵀ·p, [1, V]) minus c at each label.
  grad(
    g.o(
      "ScatterND",
      [g.o("Reshape", [g.o("Gemm", [c, "saved.mlm.probs"], { transA: 1 }), g.ints([-1])]), labelRows, g.o("Reshape", [g.o("Neg", [c]), g.ints([-1])])],
      {
        reduction: "add",
      },
    ),
    `${head}.bias`,
  );
  const dH = g.o("Mul", [g.o("Sub", [g.o("MatMul", ["saved.mlm.probs", w(words)]), g.o("Gather", [w(words), g.o("Reshape", ["labels", g.ints([-1])])])]), c]); // [M, H]
  const dAct = ctx.layerNormBack(`${head}.transform.LayerNorm`, "mlm", dH);
  const dPre = activationBackward(g, config.hidden_act, "saved.mlm.fc", dAct);
  const dPicked = ctx.linearBack(`${head}.transform.dense`, "saved.mlm.picked", dPre); // [M, H]
  // The gather's backward: the masked rows' gradients into zeros [N, H] (the positions are distinct).
  const rowsShape = g.o("Concat", [g.o("ReduceProd", [g.o("Shape", ["input_ids"])], { keepdims: 1 }), g.ints([H])], { axis: 0 });
  const dx = g.o("ScatterND", [g.o("ConstantOfShape", [rowsShape]), g.o("Reshape", ["masked_positions", g.ints([-1, 1])]), dPicked], { reduction: "add" });
  const dE = encoderBackward(g, config, ctx, dx, { dropout });
  // The tied table: the decoder's pᵀ·(c·h), −c·h at the label rows, the encoder's dE at the input rows.
  grad(
    g.o(
      "ScatterND",
      [
        g.o("Gemm", ["saved.mlm.probs", scaledH], { transA: 1 }),
        g.o("Concat", [g.o("Reshape", ["input_ids", g.ints([-1, 1])]), labelRows], { axis: 0 }),
        g.o("Concat", [dE, g.o("Neg", [scaledH])], { axis: 0 }),
      ],
      { reduction: "add" },
    ),
    words,
  );

  const backwardParams = checkBackward(params, ctx);
  const backward = g.encode(
    [
      ...idInputs,
      { name: "dlogprobs", dataType: F, dims: [MASKED, 1] },
      ...floatInputs(backwardParams, (n) => shapeOf.get(n)!),
      ...floatInputs(saved, (n) => savedDims.get(n)!),
    ],
    params.map((s): ValueInfo => ({ name: `grad.${s.name}`, dataType: F, dims: s.shape })),
  );
  return { forward, backward, saved, params, backwardParams };
}
