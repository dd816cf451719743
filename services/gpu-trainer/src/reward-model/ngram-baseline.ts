import { seededRandom, shuffled } from "../util/random.ts";
import { pairwiseAccuracy, preferencePairs, type RankList } from "./rank-data.ts";

/**
 * The baseline a neural reward model has to beat: a linear score over character
 * uni- and bi-grams (counts, L2-normalised per text), trained with the same pairwise
 * rank loss −log σ(r_better − r_worse). Plain TypeScript over sparse vectors: it
 * trains on thousands of lists in seconds.
 */
export interface NgramBaselineOptions {
  epochs: number;
  listsPerStep: number;
  learningRate: number;
  /** L2 penalty on the weights, per step. */
  l2: number;
  /** n-grams seen fewer times than this in training are dropped. */
  minCount: number;
  seed: number;
}

export const NGRAM_DEFAULTS: NgramBaselineOptions = { epochs: 8, listsPerStep: 8, learningRate: 0.05, l2: 1e-6, minCount: 2, seed: 42 };

interface SparseVector {
  index: Int32Array;
  value: Float32Array;
}

function ngrams(text: string): string[] {
  const chars = [...text];
  const out = [...chars];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

export class NgramRanker {
  private constructor(
    private readonly features: Map<string, number>,
    private readonly weights: Float32Array,
  ) {}

  get featureCount(): number {
    return this.features.size;
  }

  private vectorize(text: string): SparseVector {
    const counts = new Map<number, number>();
    for (const g of ngrams(text)) {
      const i = this.features.get(g);
      if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    const norm = Math.sqrt([...counts.values()].reduce((s, c) => s + c * c, 0)) || 1;
    return { index: Int32Array.from(counts.keys()), value: Float32Array.from([...counts.values()].map((c) => c / norm)) };
  }

  private dot(x: SparseVector): number {
    let s = 0;
    for (let k = 0; k < x.index.length; k++) s += this.weights[x.index[k]!]! * x.value[k]!;
    return s;
  }

  score(texts: readonly string[]): number[] {
    return texts.map((t) => this.dot(this.vectorize(t)));
  }

  evaluate(lists: readonly RankList[]) {
    return pairwiseAccuracy(
      lists,
      lists.map((l) => this.score(l.texts)),
    );
  }

  /** Trains with Adam on minibatches of rank lists, every pair of each list. */
  static train(lists: readonly RankList[], options: NgramBaselineOptions = NGRAM_DEFAULTS): NgramRanker {
    const counts = new Map<string, number>();
    for (const list of lists) for (const text of list.texts) for (const g of ngrams(text)) counts.set(g, (counts.get(g) ?? 0) + 1);
    const features = new Map<string, number>();
    for (const [g, c] of counts) if (c >= options.minCount) features.set(g, features.size);
    const ranker = new NgramRanker(features, new Float32Array(features.size));
    const vectors = lists.map((l) => l.texts.map((t) => ranker.vectorize(t)));

    // Adam with lazily-decayed moments would be fancier; dense moments are cheap at this size.
    const m = new Float32Array(features.size);
    const v = new Float32Array(features.size);
    const grad = new Float32Array(features.size);
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    let t = 0;
    const random = seededRandom(options.seed);
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = shuffled([...vectors.keys()], random);
      for (let start = 0; start < order.length; start += options.listsPerStep) {
        grad.fill(0);
        const touched = new Set<number>();
        let pairs = 0;
        for (const li of order.slice(start, start + options.listsPerStep)) {
          const texts = vectors[li]!;
          const scores = texts.map((x) => ranker.dot(x));
          for (const [i, j] of preferencePairs(lists[li]!)) {
            // d/ds of −log σ(s_i − s_j) is −(1 − σ(s_i − s_j)) for i, the opposite for j.
            const g = -1 / (1 + Math.exp(scores[i]! - scores[j]!));
            for (const [x, sign] of [
              [texts[i]!, 1],
              [texts[j]!, -1],
            ] as const) {
              for (let k = 0; k < x.index.length; k++) {
                grad[x.index[k]!]! += sign * g * x.value[k]!;
                touched.add(x.index[k]!);
              }
            }
            pairs++;
          }
        }
        t++;
        const lr = (options.learningRate * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
        // Only features in this batch have a gradient; the L2 term is applied to them too.
        for (const f of touched) {
          const gf = grad[f]! / pairs + options.l2 * ranker.weights[f]!;
          m[f] = b1 * m[f]! + (1 - b1) * gf;
          v[f] = b2 * v[f]! + (1 - b2) * gf * gf;
          ranker.weights[f]! -= (lr * m[f]!) / (Math.sqrt(v[f]!) + eps);
        }
      }
    }
    return ranker;
  }
}
