import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { activate, ACTIVATIONS, type Activation } from "./layers.ts";

/** erf by its Maclaurin series, accurate to ~1e-13 on [-4, 4] in doubles. */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 120; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

// Each name's formula as transformers (activations.py) and torch document it, computed in doubles.
const FORMULAS: Record<Activation, (x: number) => number> = {
  // GELUActivation / torch.nn.functional.gelu: x·Φ(x).
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  // The original Python implementation: x · 0.5 · (1 + erf(x / √2)).
  gelu_python: (x) => x * 0.5 * (1 + erf(x / Math.sqrt(2))),
  // NewGELUActivation (GPT-2, BERT's Google repo).
  gelu_new: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  // FastGELUActivation: its own constant and factoring.
  gelu_fast: (x) => 0.5 * x * (1 + Math.tanh(x * 0.7978845608 * (1 + 0.044715 * x * x))),
  // PytorchGELUTanh: torch's gelu(approximate="tanh"), documented as 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
  gelu_pytorch_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
  relu: (x) => Math.max(0, x),
};

const xs = Array.from({ length: 161 }, (_, i) => -4 + i * 0.05);

beforeAll(async () => {
  await selectBackend("cpu");
});

describe("activations", () => {
  for (const name of ACTIVATIONS) {
    it(`${name} matches its formula within 2e-6 on [-4, 4]`, () => {
      const got = tf.tidy(() => activate(name, tf.tensor1d(xs)).dataSync());
      xs.forEach((x, i) => expect(Math.abs(got[i]! - FORMULAS[name](x))).toBeLessThan(2e-6));
    });
  }

  it("tells the erf and tanh forms apart (the test above could not pass with one for the other)", () => {
    const gap = Math.max(...xs.map((x) => Math.abs(FORMULAS.gelu(x) - FORMULAS.gelu_pytorch_tanh(x))));
    expect(gap).toBeGreaterThan(1e-4);
  });
});
