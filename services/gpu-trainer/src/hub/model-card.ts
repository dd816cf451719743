import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

type Json = Record<string, unknown>;

function readJson(dir: string, file: string): Json | undefined {
  const path = join(dir, file);
  if (!existsSync(path)) return undefined;
  try {
    const value = JSON.parse(readFileSync(path, "utf8")) as unknown;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** The model_type ranklab writes for its mean-pooled (or bigram, or pooler-less) encoders; bert-dir.ts explains why. */
export function isRanklabEncoder(config: Json): boolean {
  return typeof config.model_type === "string" && config.model_type.startsWith("ranklab_");
}

const REWARD_INPUT: Record<string, string> = {
  pair: '`tokenizer(prompt, completion, truncation="longest_first")`: prompt and completion as a sentence pair',
  concat: "`tokenizer(prompt + completion)`: the prompt and the completion as one text",
  completion: "`tokenizer(completion)`: the completion alone",
};

function fmt(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function kindOf(config: Json, metrics: Json): "policy" | "reward" | "classifier" {
  if (config.model_type === "gpt2") return "policy";
  const labels = config.id2label && typeof config.id2label === "object" ? Object.keys(config.id2label).length : Number(config.num_labels ?? 1);
  return labels === 2 && metrics.accuracy === undefined ? "classifier" : "reward";
}

/**
 * The README.md of a pushed model: what it is, what it was trained on and how well it
 * did (from the folder's config.json, metrics.json, run.json, ppo_config.json), the reward
 * input, the reference, and how transformers loads it (with ranklab_bert.py for ranklab's
 * own encoders, which plain BertForSequenceClassification would score differently).
 */
export function modelCard(dir: string, repo: string): string {
  const config = readJson(dir, "config.json") ?? {};
  const metrics = readJson(dir, "metrics.json") ?? {};
  const run = readJson(dir, "run.json");
  const ppo = readJson(dir, "ppo_config.json");
  const kind = kindOf(config, metrics);
  const own = isRanklabEncoder(config);
  const lines: string[] = [
    "---",
    "library_name: transformers",
    `pipeline_tag: ${kind === "policy" ? "text-generation" : "text-classification"}`,
    "tags:",
    "- ranklab",
    `- ${kind === "policy" ? "rlhf-policy" : kind === "reward" ? "reward-model" : "sentiment-classifier"}`,
    "---",
    "",
    `# ${repo}`,
    "",
  ];
  const size = `${fmt(config.n_layer ?? config.num_hidden_layers)} layers, hidden size ${fmt(config.n_embd ?? config.hidden_size)}, vocabulary ${fmt(config.vocab_size)}`;
  if (kind === "policy") lines.push(`A GPT-2 policy (${size}) trained by ranklab with PPO against a reward model learned from human rankings and scores.`);
  else if (kind === "reward")
    lines.push(
      `A reward model (a ${String(config.model_type ?? "bert").replace(/^ranklab_/, "")} encoder with one scalar output; ${size}) trained by ranklab on human rankings: a higher score is a better completion.`,
    );
  else
    lines.push(
      `A two-way sentiment classifier (${String(config.model_type ?? "bert").replace(/^ranklab_/, "")}; ${size}) trained by ranklab; its positive probability is a reward for PPO.`,
    );
  lines.push("");

  lines.push("## Training", "");
  if (run) {
    const data = [run.train, run.dev].flat().filter((f): f is string => typeof f === "string");
    if (data.length) lines.push(`- Data: ${data.map((f) => `\`${f.split("/").pop()}\``).join(", ")}`);
    if (run.baseModel) lines.push(`- Started from: \`${fmt(run.baseModel)}\``);
    for (const key of ["epochs", "learningRate", "maxLength", "listsPerStep", "seed"]) if (run[key] !== undefined) lines.push(`- ${key}: ${fmt(run[key])}`);
  }
  if (ppo) {
    if (ppo.reference !== undefined) lines.push(`- KL reference: \`${fmt(ppo.reference)}\``);
    if (ppo.steps !== undefined) lines.push(`- PPO steps: ${fmt(ppo.steps)}`);
    for (const key of ["batchSize", "learningRate", "targetKl"]) if (ppo[key] !== undefined) lines.push(`- ${key}: ${fmt(ppo[key])}`);
  }
  if (!run && !ppo) lines.push("- The folder records no run configuration.");
  lines.push("");

  const figures = Object.entries(metrics).filter(([, v]) => typeof v === "number" || typeof v === "string");
  if (figures.length) {
    lines.push("## Metrics", "", "| metric | value |", "| --- | --- |", ...figures.map(([k, v]) => `| ${k} | ${fmt(v)} |`), "");
    if (kind === "reward" && metrics.accuracy !== undefined)
      lines.push(
        "`accuracy` is pairwise accuracy on held-out pairs the raters ordered; `train_reward_mean`/`train_reward_std` are the scale PPO normalises rewards by.",
        "",
      );
  }

  if (kind !== "policy") {
    const input = typeof config.reward_input === "string" ? config.reward_input : kind === "classifier" ? "concat" : "completion";
    lines.push("## Reward input", "", `The model scores ${REWARD_INPUT[input] ?? input}.`, "");
  }

  lines.push("## Loading it", "");
  if (kind === "policy") {
    lines.push(
      "```python",
      "from transformers import AutoModelForCausalLM, BertTokenizer",
      `model = AutoModelForCausalLM.from_pretrained("${repo}")`,
      `tokenizer = BertTokenizer.from_pretrained("${repo}")  # texts start with [CLS] and end with [SEP]`,
      "```",
      "",
      "A value head is stored beside the weights under trl's names (`v_head.summary.*`): transformers ignores it, trl's `AutoModelForCausalLMWithValueHead` reads it.",
    );
  } else if (own) {
    lines.push(
      `This is a ranklab encoder (\`model_type: ${fmt(config.model_type)}\`${config.classifier_pooling === "mean" ? ", mean-pooled over the tokens" : ""}), which plain \`BertForSequenceClassification\` would pool on [CLS] and score differently; so transformers refuses the folder until the class in \`ranklab_bert.py\` (in this repository) is registered:`,
      "",
      "```python",
      "from huggingface_hub import hf_hub_download",
      "import importlib.util, sys",
      `path = hf_hub_download("${repo}", "ranklab_bert.py")`,
      'spec = importlib.util.spec_from_file_location("ranklab_bert", path)',
      "module = importlib.util.module_from_spec(spec); sys.modules['ranklab_bert'] = module; spec.loader.exec_module(module)",
      "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
      `model = AutoModelForSequenceClassification.from_pretrained("${repo}")`,
      `tokenizer = AutoTokenizer.from_pretrained("${repo}")`,
      "```",
    );
  } else {
    lines.push(
      "```python",
      "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
      `model = AutoModelForSequenceClassification.from_pretrained("${repo}")`,
      `tokenizer = AutoTokenizer.from_pretrained("${repo}")`,
      "```",
    );
  }
  lines.push("", `In ranklab: \`hf:${repo}\` wherever a model folder is accepted.`, "");
  return lines.join("\n");
}
