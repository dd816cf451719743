import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { initStore } from "../io/weight-store.ts";
import { BertConfigSchema, type BertConfig } from "../models/bert.ts";
import { disposeParams, paramsFromStore } from "../models/params.ts";
import { maskBatch } from "../reward-model/pretrain-mlm.ts";
import { mlmLoss } from "../reward-model/pretrain-mlm-tfjs.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { seededRandom } from "../util/random.ts";
import { bertEncoderSpecs } from "./bert-forward-graph.ts";
import { dropoutMasks } from "./bert-engine.ts";
import { mlmCrossEntropy, OnnxBertMlmEngine } from "./bert-mlm-engine.ts";
import { mlmHeadSpecs } from "./bert-mlm-graphs.ts";

const TEXTS = ["这部电影很好看", "太差了", "还行吧，一般般", "喜欢！", "失望，不会再买了", "不错不错，下次还来"];
const tokenizer = new WordPieceTokenizer(buildCharVocab(TEXTS, 500));
const tinyConfig = (extra: Record<string, unknown>) =>
  BertConfigSchema.parse({
    vocab_size: tokenizer.vocab.tokens.length,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 24,
    max_position_embeddings: 24,
    ...extra,
  });

beforeAll(async () => {
  await selectBackend("wasm");
});

/** Every weight nonzero (biases and LayerNorm shifts too), so that no gradient is checked only through a zero. */
function weightsFor(config: BertConfig): Map<string, Float32Array> {
  const specs = [...bertEncoderSpecs(config), ...mlmHeadSpecs(config)];
  const store = initStore(
    specs.map((s) => ({ ...s, init: "normal" as const })),
    11,
    0.2,
  );
  for (const s of specs) if (s.init === "ones") store.get(s.name)!.forEach((v, i, a) => (a[i] = 1 + v));
  return store;
}

function relativeError(got: Float32Array, want: Float32Array): number {
  let err = 0;
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / scale;
}

// bert-engine.test.ts's tolerance: every gradient within 5e-5 of max(the parameter's largest entry, 1e-3).
// Measured: at most 3.4e-6, on the attention key biases (exact gradient 0: float noise in both engines),
// every other parameter under 1e-6; losses within 3e-7. Leaving out the tie's one-hot rows (−c·h at the
// labels) gives 0.9 on the word embeddings.
const GRAD_TOLERANCE = 5e-5;

describe("masked-LM gradients on onnxruntime", () => {
  for (const [label, extra, dropout] of [
    ["bert, gelu, a pooler (not trained here)", {}, 0],
    [
      "ernie with task ids, bigrams, gelu_new, no pooler",
      { model_type: "ernie", use_task_id: true, add_pooling_layer: false, bigram_buckets: 7, hidden_act: "gelu_new" },
      0,
    ],
    ["relu with dropout 0.3 (the same masks in both)", { hidden_act: "relu" }, 0.3],
  ] as const) {
    it(`equal tfjs's for every encoder and head parameter, the tied decoder included (${label})`, async () => {
      const config = tinyConfig(extra);
      const weights = weightsFor(config);
      // A high mask rate so that some rows have several masked positions and labels repeat input tokens.
      const batch = maskBatch({ config, tokenizer }, TEXTS, 16, 0.4, seededRandom(5));
      expect(batch.positions.length).toBeGreaterThan(TEXTS.length);
      const masks = dropout > 0 ? dropoutMasks(config, batch.batch, batch.length, dropout, seededRandom(3)) : undefined;

      const specs = [...bertEncoderSpecs(config), ...mlmHeadSpecs(config)];
      const params = paramsFromStore(specs, weights);
      const variables = [...params.values()];
      const names = new Map([...params].map(([name, v]) => [v.name, name]));
      const { value, grads } = tf.variableGrads(
        () => mlmLoss(params, config, batch, masks ? (site, shape) => tf.tensor(masks.get(site)!, shape) : 0),
        variables,
      );
      const wantLoss = value.dataSync()[0]!;

      const engine = await OnnxBertMlmEngine.create(config, weights, { threads: 1, dropout: masks !== undefined });
      const fwd = await engine.forward(batch, masks);
      const { loss, dLogprobs } = mlmCrossEntropy(fwd.targetLogprobs);
      const got = await engine.backward(fwd, dLogprobs);
      expect(Math.abs(loss - wantLoss)).toBeLessThan(1e-5);
      expect([...got.keys()].sort()).toEqual(specs.map((s) => s.name).sort());
      for (const [vname, g] of Object.entries(grads)) {
        const name = names.get(vname)!;
        expect(relativeError(got.get(name)!, g.dataSync() as Float32Array), name).toBeLessThan(GRAD_TOLERANCE);
      }
      tf.dispose([value, ...Object.values(grads)]);
      disposeParams(params);
      await engine.close();
    });
  }

  it("names a batch with nothing to predict", async () => {
    const config = tinyConfig({});
    const engine = await OnnxBertMlmEngine.create(config, weightsFor(config), { threads: 1 });
    const batch = maskBatch({ config, tokenizer }, TEXTS, 16, 0.4, seededRandom(5));
    await expect(engine.forward({ ...batch, positions: new Int32Array(0), labels: new Int32Array(0) })).rejects.toThrow(/at least one/);
    await engine.close();
  });
});
