import { join } from "node:path";
import { UserError } from "../errors.ts";
import { parseOrExplain } from "../io/json-file.ts";
import { DpoConfigSchema } from "../dpo/config.ts";
import { pairsFromRankLists } from "../dpo/pairs.ts";
import { trainDpo } from "../dpo/train.ts";
import { readRankFile } from "../reward-model/rank-data.ts";
import { intFlag, numberFlag, parseCommandArgs, readConfigFlag } from "./args.ts";

/**
 * `dpo train`: DPO on a GPT-2 folder from a rank-list TSV (best first; no prompts: the
 * completions are conditioned on [CLS] alone) or a pairs JSONL (trl's chosen/rejected,
 * with an optional prompt), against the folder itself (or --reference) as the fixed
 * reference. --eval FILE measures the implicit reward's accuracy on pairs it never trains on;
 * --stop-at-kl N stops once the policy's samples are N nats from the reference.
 */
export async function dpoTrainCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs("dpo train", argv, {
    policy: { type: "string" },
    data: { type: "string", multiple: true },
    eval: { type: "string" },
    reference: { type: "string" },
    out: { type: "string" },
    "logs-dir": { type: "string" },
    epochs: { type: "string" },
    beta: { type: "string" },
    lr: { type: "string" },
    "batch-size": { type: "string" },
    "max-pairs": { type: "string" },
    "max-length": { type: "string" },
    seed: { type: "string" },
    "stop-at-kl": { type: "string" },
    config: { type: "string" },
  });
  // `--data a.tsv b.jsonl` and `--data a.tsv --data b.jsonl` both give two files.
  if (positionals.length > 0 && !values.data) throw new UserError(`dpo train: unexpected argument "${positionals[0]}" (data files follow --data)`);
  const data = [...(values.data ?? []), ...positionals];
  if (!values.policy) throw new UserError("dpo train: --policy DIR is required (a GPT-2 folder, e.g. .ranklab/models/policy after `prepare`)");
  if (data.length === 0) throw new UserError("dpo train: --data FILE is required (rank lists .tsv, or pairs .jsonl with chosen/rejected)");
  const { values: fromFile, name } = readConfigFlag(values.config, "dpo train flags");
  const flags = Object.fromEntries(
    Object.entries({
      epochs: intFlag("epochs", values.epochs),
      beta: numberFlag("beta", values.beta),
      learningRate: numberFlag("lr", values.lr),
      batchSize: intFlag("batch-size", values["batch-size"]),
      maxPairs: intFlag("max-pairs", values["max-pairs"]),
      maxLength: intFlag("max-length", values["max-length"]),
      seed: intFlag("seed", values.seed),
      stopAtKl: numberFlag("stop-at-kl", values["stop-at-kl"]),
    }).filter(([, v]) => v !== undefined),
  );
  const dpo = parseOrExplain(name, DpoConfigSchema, { ...fromFile, ...flags });
  const pairs = pairsFromRankLists(data.flatMap((f) => readRankFile(f)));
  if (pairs.length === 0) throw new UserError(`dpo train: ${data.join(", ")} state no preference pair (every list is one level or identical texts)`);
  const evalPairs = values.eval ? pairsFromRankLists(readRankFile(values.eval)) : undefined;
  await trainDpo({
    policyDir: values.policy,
    ...(values.reference ? { referenceDir: values.reference } : {}),
    pairs,
    ...(evalPairs ? { evalPairs } : {}),
    out: values.out ?? join(".ranklab", "runs", "dpo"),
    logsDir: values["logs-dir"] ?? "logs",
    runName: "DPO",
    dpo,
  });
}
