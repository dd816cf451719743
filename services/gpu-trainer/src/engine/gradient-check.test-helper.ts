import type * as tf from "@tensorflow/tfjs";
import { expect } from "vitest";

/**
 * Every engine gradient against tfjs's (`grads` by tfjs variable name, `names` mapping it to
 * the Hugging Face name the engine uses), within the documented tolerance
 * (gpt2-engine.test.ts): 2e-5 of the parameter's largest entry (at least 1e-3).
 */
export function expectGradientsMatch(grads: Record<string, tf.Tensor>, names: ReadonlyMap<string, string>, got: ReadonlyMap<string, Float32Array>): void {
  for (const [vname, g] of Object.entries(grads)) {
    const name = names.get(vname)!;
    const want = g.dataSync();
    const have = got.get(name)!;
    let err = 0;
    let scale = 1e-3;
    for (let i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs(have[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    expect(err / scale, name).toBeLessThan(2e-5);
  }
}
