import { z } from "zod";
import { MlmSchema } from "./pretrain-mlm.ts";
import { REWARD_INPUTS } from "./reward-input.ts";
import { engineField } from "../engine/engine-name.ts";

/** The shape of a reward model from scratch (`reward train`'s `model`, and the sentiment pretraining's). */
export const RewardModelShapeSchema = z
  .object({
    hiddenSize: z.number().int().positive().default(128),
    layers: z.number().int().positive().default(2),
    heads: z.number().int().positive().default(4),
    intermediateSize: z.number().int().positive().default(512),
    maxVocab: z.number().int().min(100).default(6000),
    // Mean pooling (BertConfig.classifier_pooling): learns sooner from scratch. transformers has no such pooling, so
    // the checkpoint is written as model_type ranklab_bert (README); "cls" writes a plain BertForSequenceClassification.
    pooling: z.enum(["cls", "mean"]).default("mean"),
    // Hashed character-bigram embeddings (BertConfig.bigram_buckets); 0 turns them off.
    bigramBuckets: z.number().int().min(0).max(32768).default(0),
  })
  .strict()
  .default({ hiddenSize: 128, layers: 2, heads: 4, intermediateSize: 512, maxVocab: 6000, pooling: "mean", bigramBuckets: 0 });

/** The reward-model training job's config; every default says why. Unknown keys are refused. */
export const RewardTrainConfigSchema = z
  .object({
    // Rank-list TSV and/or pairwise JSONL files (`reward train`; the daemon passes its examples in memory instead).
    train: z.array(z.string()).min(1).optional(),
    // Held-out rank lists for pairwise accuracy; the best checkpoint is chosen on it.
    dev: z.string().optional(),
    // Checkpoints go to <out>/best (highest dev accuracy) and <out>/last (to resume).
    out: z.string(),
    // A Hugging Face encoder folder to start from (config.json, model.safetensors, vocab.txt); none: a small model from scratch.
    baseModel: z.string().optional(),
    // A model from scratch takes its vocabulary from this folder's vocab.txt (e.g. the policy's, so that it knows every
    // character the policy can write); none: a character vocabulary built from the training texts.
    vocabFrom: z.string().optional(),
    // What the model sees for (prompt, completion) (reward-model/reward-input.ts): "auto" is "pair" when the data has prompts,
    // else "concat" (whole texts). A base model that records its own keeps it.
    rewardInput: z.enum(["auto", ...REWARD_INPUTS]).default("auto"),
    // Reviews are short: 128 tokens keep ~95% of the seed's reviews whole and attention cheap.
    maxLength: z.number().int().min(8).max(512).default(128),
    // 8 lists of 4 texts = 48 pairs a step: stable gradients, ~1 s steps on 2 CPU cores.
    listsPerStep: z.number().int().min(1).max(256).default(8),
    epochs: z.number().int().min(1).max(1000).default(4),
    // Adam at 1e-3 suits a small model from scratch; a pretrained encoder wants ~2e-5.
    learningRate: z.number().positive().max(1).default(1e-3),
    // Dropout 0.1 as in BERT: the seed's data sets are small and a model overfits them fast.
    dropout: z.number().min(0).max(0.9).default(0.1),
    // The training engine for the rank loss: onnxruntime (src/engine/bert-engine.ts: the same loss, gradients and
    // dropout masks as tfjs, tested; ~6× faster a step on 2 cores, `npm run bench training-engine`), or tfjs, the
    // readable reference (and the path for tfjs-node-gpu). Masked-LM pretraining (`pretrain`) runs on the same engine
    // (engine/bert-mlm-graphs.ts on onnx).
    engine: engineField(),
    logEvery: z.number().int().positive().default(10),
    evalEvery: z.number().int().positive().default(100),
    seed: z.number().int().default(42),
    // Curves and the PNG plot go here.
    logsDir: z.string().default("logs"),
    runName: z
      .string()
      .regex(/^[\w.-]+$/)
      .default("reward-model"),
    // A model from scratch: 2 layers of 128 wide is what trains in minutes on 2 cores.
    model: RewardModelShapeSchema,
    // Masked-LM pretraining on the training texts before ranking, for a model from scratch.
    pretrain: MlmSchema.default({ epochs: 0, maskRate: 0.15, batchSize: 32, learningRate: 1e-3 }),
    quiet: z.boolean().default(false),
  })
  .strict()
  .refine((c) => c.model.hiddenSize % c.model.heads === 0, {
    message: "model.hiddenSize must be a multiple of model.heads",
    path: ["model", "heads"],
  });

export type RewardTrainConfig = z.infer<typeof RewardTrainConfigSchema>;
