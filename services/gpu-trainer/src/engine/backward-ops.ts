import { activationForm, type Activation } from "../models/layers.ts";
import type { GraphBuilder } from "../onnx/graph-builder.ts";
import { DataType } from "../onnx/proto.ts";

/** Σ over rows of a [N, width] tensor → [width]: a bias's (or LayerNorm shift's) gradient. */
export const sumRows = (g: GraphBuilder, t: string) => g.o("ReduceSum", [t, g.ints([0])], { keepdims: 0 });

/**
 * LayerNorm's backward from x̂ and 1/σ saved by the forward pass: dγ = Σ dy·x̂,
 * dβ = Σ dy, dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·γ.
 */
export function layerNormBackward(g: GraphBuilder, dy: string, xhat: string, rstd: string, gamma: string): { dx: string; dGamma: string; dBeta: string } {
  const rowMean = (t: string) => g.o("ReduceMean", [t], { axes: [-1], keepdims: 1 });
  const dxhat = g.o("Mul", [dy, gamma]);
  const centred = g.o("Sub", [g.o("Sub", [dxhat, rowMean(dxhat)]), g.o("Mul", [xhat, rowMean(g.o("Mul", [dxhat, xhat]))])]);
  return { dx: g.o("Mul", [centred, rstd]), dGamma: sumRows(g, g.o("Mul", [dy, xhat])), dBeta: sumRows(g, dy) };
}

/** The activation's derivative at the pre-activation `u`, times `da`, for each form models/layers.ts computes: GELU's tanh form (gelu_new and its aliases), its erf form (gelu), relu. */
export function activationBackward(g: GraphBuilder, kind: Activation, u: string, da: string): string {
  const form = activationForm(kind);
  if (form === "relu") return g.o("Mul", [da, g.o("Cast", [g.o("Greater", [u, g.scalar(0)])], { to: DataType.FLOAT })]);
  if (form === "erf") {
    // d/du [u·Φ(u)] = Φ(u) + u·φ(u)
    const cdf = g.o("Mul", [g.o("Add", [g.o("Erf", [g.o("Mul", [u, g.scalar(Math.SQRT1_2)])]), g.scalar(1)]), g.scalar(0.5)]);
    const pdf = g.o("Mul", [g.o("Exp", [g.o("Mul", [g.o("Mul", [u, u]), g.scalar(-0.5)])]), g.scalar(1 / Math.sqrt(2 * Math.PI))]);
    return g.o("Mul", [da, g.o("Add", [cdf, g.o("Mul", [u, pdf])])]);
  }
  // gelu_new: y = ½u(1 + t), t = tanh(c(u + a·u³)); y' = ½(1 + t)·(1 + u(1 − t)·c(1 + 3a·u²)).
  const c = Math.sqrt(2 / Math.PI);
  const a = 0.044715;
  const u2 = g.o("Mul", [u, u]);
  const t = g.o("Tanh", [g.o("Mul", [u, g.o("Add", [g.o("Mul", [u2, g.scalar(c * a)]), g.scalar(c)])])]);
  const slope = g.o("Add", [g.o("Mul", [u2, g.scalar(3 * a * c)]), g.scalar(c)]);
  const bracket = g.o("Add", [g.o("Mul", [g.o("Mul", [u, g.o("Sub", [g.scalar(1), t])]), slope]), g.scalar(1)]);
  const half = g.o("Add", [g.o("Mul", [t, g.scalar(0.5)]), g.scalar(0.5)]);
  return g.o("Mul", [da, g.o("Mul", [half, bracket])]);
}

/**
 * Attention's backward on heads [B, h, T, hd], from the saved q, k, v and softmax
 * probabilities P and the context's gradient: dP = dC·vᵀ, dv = Pᵀ·dC,
 * dS = P·(dP − Σ dP·P)·scale, dq = dS·k, dk = dSᵀ·q. The additive mask bias is a
 * constant, and P is 0 where it blocks, so no mask is needed here.
 */
export function attentionBackward(
  g: GraphBuilder,
  saved: { q: string; k: string; v: string; probs: string },
  dContext: string,
  scale: number,
): { dQ: string; dK: string; dV: string } {
  const swapLast = { perm: [0, 1, 3, 2] };
  const dProbs = g.o("MatMul", [dContext, g.o("Transpose", [saved.v], swapLast)]);
  const dV = g.o("MatMul", [g.o("Transpose", [saved.probs], swapLast), dContext]);
  const dScores = g.o("Mul", [
    g.o("Mul", [saved.probs, g.o("Sub", [dProbs, g.o("ReduceSum", [g.o("Mul", [dProbs, saved.probs]), g.ints([-1])], { keepdims: 1 })])]),
    g.scalar(scale),
  ]);
  return { dQ: g.o("MatMul", [dScores, saved.k]), dK: g.o("MatMul", [g.o("Transpose", [dScores], swapLast), saved.q]), dV };
}
