import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const MAIN = resolve(import.meta.dirname, "main.ts");
const TSX = resolve(import.meta.dirname, "../../../../node_modules/.bin/tsx");

/** Runs the real CLI as a user would; `npm_config_*` noise is not involved since tsx runs it directly. */
function cli(args: string[], input?: string) {
  const r = spawnSync(TSX, [MAIN, ...args], { encoding: "utf8", input, timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("ranklab-trainer CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "ranklab-cli-"));
  const data = join(dir, "data");
  const out = join(dir, "rm");

  beforeAll(() => {
    const gen = cli(["data", "generate", "--out", data, "--train-lists", "200", "--dev-lists", "30", "--reviews", "200"]);
    expect(gen.code, gen.stderr).toBe(0);
  });

  it("trains a reward model from the generated TSV (config given inline), printing the seed's lines", () => {
    const tiny = JSON.stringify({
      maxLength: 64,
      epochs: 3,
      learningRate: 2e-3,
      model: { hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 64, maxVocab: 800 },
    });
    const r = cli([
      "reward",
      "train",
      "--config",
      tiny,
      "--train",
      join(data, "rank_train.tsv"),
      "--dev",
      join(data, "rank_dev.tsv"),
      "--out",
      out,
      "--logs-dir",
      join(dir, "logs"),
      "--eval-every",
      "25",
      "--quiet",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/tfjs backend: wasm/);
    expect(r.stdout).toMatch(/global step \d+, epoch: \d+, loss: [\d.]+, speed: [\d.]+ step\/s/);
    expect(r.stdout).toMatch(/Evaluation acc: [\d.]+/);
    expect(existsSync(join(out, "best", "model.safetensors"))).toBe(true);
    expect(existsSync(join(dir, "logs", "reward-model.png"))).toBe(true);
  });

  it("scores texts with tfjs and with ONNX (exported on the way when missing): the same numbers, positive above negative", () => {
    const texts = ["说实话，真的很满意，质量很好，物流很快。强烈推荐！", "说实话，真的很失望，质量很差，物流太慢了。差评！"];
    const tfjs = cli(["reward", "score", "--model", join(out, "best"), "--engine", "tfjs", ...texts]);
    expect(tfjs.code, tfjs.stderr).toBe(0);
    rmSync(join(out, "best", "model.onnx"), { force: true });
    const onnx = cli(["reward", "score", "--model", join(out, "best")], texts.join("\n"));
    expect(onnx.code, onnx.stderr).toBe(0);
    expect(onnx.stderr).toMatch(/reward score: exported .*model\.onnx \(no model\.onnx\)/);
    expect(existsSync(join(out, "best", "model.onnx"))).toBe(true);
    const parse = (s: string) =>
      s
        .trim()
        .split("\n")
        .map((l) => Number(l.split("\t")[0]));
    const [a, b] = [parse(tfjs.stdout), parse(onnx.stdout)];
    expect(a).toHaveLength(2);
    expect(a[0]).toBeGreaterThan(a[1]!);
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-3));
    expect(tfjs.stdout).toContain(`\t${texts[0]}`);
  });

  const bad: [string, () => string[], RegExp][] = [
    [
      "a TSV line with one field",
      () => (
        writeFileSync(join(dir, "one.tsv"), "好\t差\n只有一个\n"),
        ["reward", "train", "--train", join(dir, "one.tsv"), "--dev", join(data, "rank_dev.tsv"), "--out", join(dir, "x")]
      ),
      /one\.tsv: line 2: only one field/,
    ],
    [
      "an empty line",
      () => (
        writeFileSync(join(dir, "empty.tsv"), "好\t差\n\n好\t差\n"),
        ["reward", "train", "--train", join(dir, "empty.tsv"), "--dev", join(data, "rank_dev.tsv"), "--out", join(dir, "x")]
      ),
      /empty\.tsv: line 2: empty line/,
    ],
    [
      "a missing file",
      () => ["reward", "train", "--train", join(dir, "nope.tsv"), "--dev", join(data, "rank_dev.tsv"), "--out", join(dir, "x")],
      /nope\.tsv: no such file/,
    ],
    [
      "a vocab without [UNK]",
      () => {
        const v = readFileSync(join(out, "best", "vocab.txt"), "utf8").replace("[UNK]\n", "");
        writeFileSync(join(out, "best", "vocab.txt"), v);
        return ["reward", "score", "--model", join(out, "best"), "好"];
      },
      /vocab\.txt: the vocabulary lacks \[UNK\]/,
    ],
    [
      "a config.json that does not match the weights",
      () => {
        const c = JSON.parse(readFileSync(join(out, "last", "config.json"), "utf8"));
        writeFileSync(join(out, "last", "config.json"), JSON.stringify({ ...c, hidden_size: 48 }));
        return ["reward", "score", "--model", join(out, "last"), "好"];
      },
      /model\.safetensors: .* has shape \[.*\] but config\.json implies/,
    ],
    ["an unknown flag", () => ["reward", "train", "--epoch", "3"], /reward train: Unknown option '--epoch'/],
    [
      "a bad config value",
      () => (
        writeFileSync(join(dir, "bad.json"), JSON.stringify({ train: ["a"], dev: "b", out: "c", learningRate: -1 })),
        ["reward", "train", "--config", join(dir, "bad.json")]
      ),
      /bad\.json: learningRate: /,
    ],
    [
      "a bad inline config value",
      () => ["reward", "train", "--config", '{"train": ["a"], "dev": "b", "out": "c", "learningRate": -1}'],
      /--config: learningRate: /,
    ],
    [
      "inline config that is not JSON",
      () => ["reward", "train", "--config", "{epochs: 2}"],
      /--config: not valid JSON .*give a JSON object or the path of a \.json file/,
    ],
    ["an unknown backend", () => ["backend", "--backend", "tpu"], /--backend must be one of tensorflow-gpu, tensorflow, wasm, cpu, got "tpu"/],
  ];
  for (const [name, args, message] of bad) {
    it(`answers ${name} with a clear message, exit 2 and no stack trace`, () => {
      const r = cli(args());
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
});
