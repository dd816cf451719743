#!/usr/bin/env -S npx tsx
import { ZodError } from "zod";
import { BACKENDS, selectBackend, type BackendName } from "../backend/select-backend.ts";
import { UserError } from "../errors.ts";
import { DEVICES, useOrtDevice } from "../onnx/device.ts";
import { checkpointsPush } from "./checkpoints-commands.ts";
import { dataGenerate, generateCommand, onnxExport } from "./data-model-commands.ts";
import { dpoTrainCommand } from "./dpo-commands.ts";
import { grpoDemoCommand } from "./grpo-commands.ts";
import { ppoCommand, prepareCommand } from "./ppo-commands.ts";
import { rewardPretrain, rewardScore, rewardTrain } from "./reward-commands.ts";

const HELP = `ranklab-trainer: train and run ranklab's models.

  reward train --train FILE... --dev FILE --out DIR [--config FILE|JSON] [--epochs N] [--max-length N]
               [--lists-per-step N] [--lr X] [--dropout X] [--engine onnx|tfjs] [--base-model DIR]
               [--eval-every N] [--log-every N] [--quiet]
      Train a reward model on rank lists (TSV: one list a line, best first, tab-separated) or
      pairwise JSONL (chosen/rejected). Best checkpoint by dev pairwise accuracy in DIR/best,
      resumable state in DIR/last, curve in logs/<run-name>.png. Trains on onnxruntime
      (--engine onnx, the default) or on tfjs, the reference (--engine tfjs); dropout (default
      0.1) on either.
  reward pretrain --corpus FILE.csv... --out DIR [--exclude FILE...] [--vocab-from FILE...]
                  [--max-texts N] [--epochs N] [--lr X] [--max-length N] [--config FILE|JSON] [--quiet]
      Pretrain a reward encoder on a labelled corpus's sentiment (label,review CSV) on onnxruntime:
      its one output learns the log-odds of positive. Writes a reward-model folder for
      reward train --base-model DIR. --exclude leaves out every text of those rank-list files
      (e.g. the dev set you will measure on); --vocab-from adds their characters to the vocabulary.
  reward score --model DIR [--engine onnx|tfjs] [--file FILE | TEXT...]
      Print one score per text (tab, the text). Texts from arguments, a file, or stdin.
      On onnxruntime by default (DIR/model.onnx exported first when it is missing or was
      made from other weights; --onnx is the same), or on tfjs.
  data generate --out DIR [--train-lists N] [--dev-lists N] [--reviews N] [--seed S]
      Write the project's generated Chinese reviews: rank_train.tsv, rank_dev.tsv, reviews.jsonl.
  onnx export DIR...
      Write DIR/model.onnx for a GPT-2 or BERT-style checkpoint folder.
  generate --model DIR [--engine onnx|tfjs] [--max-new-tokens N] [--temperature T] [--top-k K]
           [--top-p P] [--seed S] [--samples N] PROMPT...
      Continue prompts with a GPT-2 folder.
  prepare [--home DIR] [--config FILE|JSON] [--engine onnx|tfjs] [--corpus FILE.csv...] [--quiet]
      Make the embedded defaults once (cached under DIR, default .ranklab): generated reviews,
      a small GPT-2 pretrained on them (on onnxruntime by default; --engine tfjs for tfjs),
      a sentiment classifier, and PPO's prompts (DIR/models/prompts.json). --corpus: real
      labelled reviews instead (CSV, header label,review or cat,label,review): a held-out
      split measures the classifier, and its review openings join the seed's prompts.
  ppo demo [--epochs N] [--policy DIR] [--reward-model DIR | --reward-url URL] [--prompt P]... [--corpus FILE.csv...]
           [--batch-size N] [--mini-batch-size N] [--lr X] [--max-new-tokens N] [--engine onnx|tfjs]
           [--config FILE|JSON] [--out DIR] [--logs-dir DIR] [--quiet]
      The seed's step 1: PPO until the policy writes positive reviews, on prepare's models and prompts
      (made from --corpus, else from the corpus the models under --home came from). Prints
      "epoch N mean-reward: X" and five samples an epoch; metrics in logs/PPO-Sentiment-Zh.{jsonl,png}.
      --engine (default onnx) runs generation, the reward model and the PPO updates on onnxruntime;
      tfjs runs them all on tfjs (the reference, and the path for tfjs-node-gpu).
  ppo human [--scale 0-1|1-5] [--labels FILE] [--api-url URL --api-token T] [--rater NAME]
            [--policy DIR] [--batch-size N] [...ppo demo's flags]
      The seed's step 2: the same loop, a person types each score (s skips, q saves and quits).
      Every score is appended to FILE (default .ranklab/labels/human-scores.jsonl) as it is typed,
      and, with --api-url (or RANKLAB_API_URL), stored in the API as rater cli:NAME.
  checkpoints push DIR --repo owner/name [--private] [--quiet]
      Upload a model folder (a published checkpoint, or any ranklab model) to the Hugging Face Hub
      as a model repository, with a model card from its config and metrics. Needs HF_TOKEN (write).
  grpo demo [--epochs N] [--policy DIR] [--reward-model DIR | --reward-url URL] [--prompt P]... [--corpus FILE.csv...]
            [--batch-size N] [--group-size K] [--mini-batch-size N] [--lr X] [--beta X] [--advantage group|rloo]
            [--max-new-tokens N] [--config FILE|JSON] [--out DIR] [--logs-dir DIR] [--quiet]
      ppo demo's sibling: GRPO on the same models, prompts and classifier reward, on onnxruntime. K
      completions a prompt (default 4), advantages within each group (--advantage rloo: leave-one-out),
      the clipped ratio with β·k3 KL to the starting policy, no value head. Prints "epoch N mean-reward: X";
      metrics under trl's GRPO names in logs/GRPO-Sentiment-Zh.jsonl.
  dpo train --policy DIR --data FILE... [--eval FILE] [--reference DIR] [--out DIR] [--logs-dir DIR]
            [--epochs N] [--beta X] [--lr X] [--batch-size N] [--max-pairs N] [--max-length N] [--stop-at-kl N] [--config FILE|JSON]
      DPO on a GPT-2 folder from preference pairs, on onnxruntime: rank lists (.tsv, best first; no
      prompt, so each completion is conditioned on [CLS]) or pairs (.jsonl, chosen/rejected, optional
      prompt). The reference is the policy as it starts (or --reference). Prints trl's metrics an epoch
      (loss, rewards/margins, rewards/accuracies); --eval FILE: the implicit reward's accuracy on those
      pairs before and after. Saves to DIR (default .ranklab/runs/dpo); metrics in logs/DPO.jsonl.
  backend
      Print the tfjs backend that would be used.

Models: wherever a model folder is asked for (--model, --policy, --reward-model, --base-model, onnx export),
hf:owner/name[@revision] downloads it from the Hugging Face Hub into its standard cache (HF_HOME / HF_HUB_CACHE,
shared with Python's huggingface_hub) once: only config, weights and tokenizer files. HF_TOKEN for private or
gated models, HF_HUB_OFFLINE=1 for the cache only, HF_ENDPOINT for another server.

--config takes the path of a JSON file or the JSON itself (--config '{"epochs": 2}'); flags override it.
Global: --backend ${BACKENDS.join("|")} picks the tfjs backend (default: the fastest present);
--device ${DEVICES.join("|")} where onnxruntime runs (default cpu; cuda needs onnxruntime-node's CUDA provider).
Exit status: 0 done, 2 bad input (the message says what and where), 1 anything else.`;

/** Removes a global `--NAME VALUE` (or `--NAME=VALUE`) from argv, wherever it is; the value must be one of `allowed`. */
function takeGlobal<T extends string>(argv: string[], name: string, allowed: readonly T[]): { value?: T; rest: string[] } {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return { rest: argv };
  const value = argv[i]!.includes("=") ? argv[i]!.split("=")[1]! : argv[i + 1];
  if (!value || !(allowed as readonly string[]).includes(value))
    throw new UserError(`--${name} must be one of ${allowed.join(", ")}${value ? `, got "${value}"` : ""}`);
  const rest = [...argv];
  rest.splice(i, argv[i]!.includes("=") ? 1 : 2);
  return { value: value as T, rest };
}

async function useBackend(backend: BackendName | undefined) {
  const choice = await selectBackend(backend);
  // stderr, so stdout stays one score or sample a line for scripts.
  // wasm is the expected backend: the native ones are optional packages, not installed by npm ci (docs/trainer.md).
  const skipped = choice.tried.filter((t) => !t.ok).map((t) => t.name);
  console.error(
    `tfjs backend: ${choice.name}${skipped.length > 0 ? ` (the optional native backends ${skipped.join(", ")} are not installed; ${choice.name} is the default)` : ""}`,
  );
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { value: backend, rest: withoutBackend } = takeGlobal(argv, "backend", BACKENDS);
    const { value: device, rest } = takeGlobal(withoutBackend, "device", DEVICES);
    // Every onnxruntime session of this command runs there; cuda without its provider fails here, with the fix.
    useOrtDevice(device ?? "cpu");
    if (device === "cuda") console.error("onnxruntime device: cuda");
    const [command, sub, ...args] = rest;
    const key = [command, sub].join(" ");
    if (key === "reward train") {
      await useBackend(backend);
      await rewardTrain(args);
    } else if (key === "reward pretrain") {
      await useBackend(backend);
      await rewardPretrain(args);
    } else if (key === "reward score") {
      await useBackend(backend);
      await rewardScore(args);
    } else if (key === "data generate") dataGenerate(args);
    else if (key === "onnx export") {
      await useBackend(backend);
      await onnxExport(args);
    } else if (command === "generate") {
      await useBackend(backend);
      await generateCommand(rest.slice(1));
    } else if (command === "prepare") {
      await useBackend(backend);
      await prepareCommand(rest.slice(1));
    } else if (key === "ppo demo" || key === "ppo human") {
      await useBackend(backend);
      await ppoCommand(args, sub === "human" ? "human" : "demo");
    } else if (key === "checkpoints push") await checkpointsPush(args);
    else if (key === "grpo demo") {
      await useBackend(backend);
      await grpoDemoCommand(args);
    } else if (key === "dpo train") {
      await useBackend(backend);
      await dpoTrainCommand(args);
    } else if (command === "backend") await useBackend(backend);
    else if (!command || command === "help" || command === "--help" || command === "-h") console.log(HELP);
    else throw new UserError(`unknown command "${rest.join(" ")}"; run \`ranklab-trainer help\``);
    return 0;
  } catch (err) {
    if (err instanceof UserError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    if (err instanceof ZodError) {
      console.error(`error: ${err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
      return 2;
    }
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
