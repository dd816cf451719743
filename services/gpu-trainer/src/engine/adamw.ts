export interface AdamWOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  /** Added to √v̂ (tfjs's default for float32 is 1e-7; PyTorch's 1e-8). */
  epsilon?: number;
  /** Decoupled weight decay (AdamW); 0 gives tf.train.adam's update exactly. */
  weightDecay?: number;
  /** Which parameters decay (default: all but biases and LayerNorm scales, the usual exclusions). */
  decays?: (name: string) => boolean;
}

const defaultDecays = (name: string) => !name.endsWith(".bias") && !/(^|\.)(ln_\w+|LayerNorm|layer_norm)\./.test(name);

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's AdamW), over
 * Float32Arrays updated in place: θ ← θ·(1 − lr·λ) − lr·m̂/(√v̂ + ε). With λ = 0 it is
 * tf.train.adam's update, step for step. Moments are float32 like the weights.
 */
export class AdamW {
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private steps = 0;
  learningRate: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly weightDecay: number;
  private readonly decays: (name: string) => boolean;

  constructor(
    private readonly params: Map<string, Float32Array>,
    options: AdamWOptions,
  ) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-7;
    this.weightDecay = options.weightDecay ?? 0;
    this.decays = options.decays ?? defaultDecays;
    for (const [name, p] of params) {
      this.m.set(name, new Float32Array(p.length));
      this.v.set(name, new Float32Array(p.length));
    }
  }

  get stepCount(): number {
    return this.steps;
  }

  /** The moments (live arrays, by parameter name) and the step count, to save and resume. */
  state(): { steps: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
    return { steps: this.steps, m: this.m, v: this.v };
  }

  /** Restores state() as saved: every parameter's moments, and the step count the bias correction reads. */
  load(state: { steps: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> }): void {
    if (!Number.isInteger(state.steps) || state.steps < 0) throw new Error(`AdamW.load: step count ${state.steps}`);
    for (const [name, p] of this.params) {
      const m = state.m.get(name);
      const v = state.v.get(name);
      if (m?.length !== p.length || v?.length !== p.length) throw new Error(`AdamW.load: moments for ${name} are missing or of another size`);
      this.m.get(name)!.set(m);
      this.v.get(name)!.set(v);
    }
    this.steps = state.steps;
  }

  /**
   * One update from `grads` (by parameter name; parameters without a gradient are left alone), each gradient
   * multiplied by `gradScale` as it is read: gradient clipping's scale (gradClipScale) applied here costs nothing,
   * where scaling the gradients first was one more pass over every parameter (~0.2 s a minibatch at GPT-2's size).
   */
  step(grads: Map<string, Float32Array>, gradScale = 1): void {
    this.steps++;
    const { beta1: b1, beta2: b2, epsilon: eps, learningRate: lr } = this;
    const c1 = 1 / (1 - b1 ** this.steps);
    const c2 = 1 / (1 - b2 ** this.steps);
    const rest1 = 1 - b1;
    const rest2 = 1 - b2;
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (!p) throw new Error(`AdamW: no parameter ${name}`);
      if (g.length !== p.length) throw new Error(`AdamW: ${name} has ${p.length} values but its gradient ${g.length}`);
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const keep = this.weightDecay > 0 && this.decays(name) ? 1 - lr * this.weightDecay : 1;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! * gradScale;
        const mi = b1 * m[i]! + rest1 * gi;
        const vi = b2 * v[i]! + rest2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! * keep - (lr * (mi * c1)) / (Math.sqrt(vi * c2) + eps);
      }
    }
  }
}

/**
 * Gradient clipping without touching the gradients: the global norm and the scale
 * min(1, maxNorm / (norm + 1e-6)) that AdamW.step applies as it reads them (the PPO
 * trainer's rule in tfjs, where the gradients are scaled in place).
 */
export function gradClipScale(grads: Map<string, Float32Array>, maxNorm: number): { norm: number; scale: number } {
  const norm = gradNorm(grads);
  return { norm, scale: Math.min(1, maxNorm / (norm + 1e-6)) };
}

/** The global L2 norm of all gradients. */
export function gradNorm(grads: Map<string, Float32Array>): number {
  let sum = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
  return Math.sqrt(sum);
}
