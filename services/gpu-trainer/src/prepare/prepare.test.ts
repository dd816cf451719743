import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { isHeldOut, parseCorpusCsv } from "../data/corpus-csv.ts";
import { generateReviews } from "../data/review-corpus.ts";
import { loadBertDir } from "../io/bert-dir.ts";
import { disposeParams } from "../models/params.ts";
import { scoreItems } from "../reward-model/score-tfjs.ts";
import { OPEN_BAND, PROMPT_RULE } from "./corpus-prompts.ts";
import { prepare, preparedCorpus, preparedPaths, readPreparedPrompts, SEED_PROMPTS } from "./prepare.ts";

/** Tiny sizes: the pipeline is the real one. */
const TINY = {
  policy: { n_embd: 16, n_layer: 1, n_head: 2, train: { epochs: 1, batchSize: 32, maxLength: 32 } },
  classifier: { hidden_size: 16, layers: 1, heads: 2, train: { epochs: 1, maxLength: 32 } },
  corpusOptions: { heldOutFraction: 0.2, prompts: 6 },
  quiet: true,
};

/** A quoted CSV field. */
const q = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** A review made of a character no other review has, that the hash split puts in the held-out part. */
function heldOutOnly(char: string): string {
  for (let i = 0; ; i++) {
    const text = `这家店${char}${char}真是太好了，第${i}次来`;
    if (isHeldOut(text, TINY.corpusOptions.heldOutFraction)) return text;
  }
}

/** `n` positive reviews that open with a digit, all in the held-out part: openings the prompts must skip. */
function heldOutDigitOpenings(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const text = `${i}.外卖很快，好吃，下次再来`;
    if (isHeldOut(text, TINY.corpusOptions.heldOutFraction)) out.push(text);
  }
  return out;
}

describe("prepare --corpus (a small CSV written here)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ranklab-prepare-corpus-"));
  const home = join(dir, "home");
  const shop = join(dir, "shop.csv");
  const waimai = join(dir, "waimai.csv");
  const rare = "龘";
  const reviews = generateReviews(300, 5);

  beforeAll(async () => {
    await selectBackend("wasm");
    // The generated reviews as a corpus in the two layouts, with quoting, a comma inside a review and an empty review.
    writeFileSync(
      shop,
      `cat,label,review\n${reviews
        .slice(0, 200)
        .map((r) => `${r.domain},${r.label === "positive" ? 1 : 0},${q(r.text)}`)
        .join("\n")}\n书籍,1,""\n书籍,0,${q("差,很差")}\n`,
    );
    writeFileSync(
      waimai,
      `label,review\r\n${reviews
        .slice(200)
        .map((r) => `${r.label === "positive" ? 1 : 0},${r.text}`)
        .join("\r\n")}\r\n1,${heldOutOnly(rare)}\r\n${heldOutDigitOpenings(40)
        .map((t) => `1,${t}`)
        .join("\r\n")}\r\n`,
    );
  });

  it("trains on the training split, reports held-out accuracy, writes prompts from held-out openings, then finds it cached", async () => {
    const lines: string[] = [];
    const made = await prepare({ home, corpus: [shop, waimai], ...TINY }, (l) => lines.push(l));
    expect(made.cached).toBe(false);
    for (const f of ["config.json", "model.safetensors", "vocab.txt", "model.onnx"]) {
      expect(existsSync(join(made.policyDir, f))).toBe(true);
      expect(existsSync(join(made.classifierDir, f))).toBe(true);
    }
    const text = lines.join("\n");
    expect(text).toMatch(/shop\.csv: 201 reviews \(cat,label,review\), 1 empty skipped/);
    expect(text).toMatch(/waimai\.csv: 141 reviews \(label,review\)/);
    expect(text).toMatch(/pretraining GPT-2 .* on \d+ real reviews/);
    expect(text).toMatch(/held-out accuracy \d\.\d{4} on \d+ held-out reviews/);

    // The split: by text hash, the held-out reviews are the ones isHeldOut names.
    const all = [...parseCorpusCsv(readFileSync(shop, "utf8"), shop).reviews, ...parseCorpusCsv(readFileSync(waimai, "utf8"), waimai).reviews];
    const heldOut = all.filter((r) => isHeldOut(r.text, TINY.corpusOptions.heldOutFraction));
    const metrics = JSON.parse(readFileSync(join(made.classifierDir, "metrics.json"), "utf8")) as Record<string, number>;
    expect(metrics.reviews).toBe(342);
    expect(metrics.empty_skipped).toBe(1);
    expect(metrics.held_out_reviews).toBe(heldOut.length);
    expect(metrics.train_reviews).toBe(342 - heldOut.length);
    expect(metrics.held_out_accuracy).toBeGreaterThanOrEqual(0);
    expect(metrics.held_out_accuracy).toBeLessThanOrEqual(1);
    expect(metrics.held_out_examples).toBe(heldOut.length);

    // The vocabulary comes from the training texts: a character only a held-out review has is not in it.
    expect(readFileSync(join(made.policyDir, "vocab.txt"), "utf8").split("\n")).not.toContain(rare);

    // Prompts: the seed's four, then openings of held-out reviews only.
    expect(made.prompts.slice(0, 4)).toEqual(SEED_PROMPTS);
    const openings = made.prompts.slice(4);
    expect(openings.length).toBeGreaterThan(0);
    expect(openings.length).toBeLessThanOrEqual(6);
    expect(new Set(made.prompts).size).toBe(made.prompts.length);
    for (const o of openings) {
      expect(heldOut.some((r) => r.text.startsWith(o))).toBe(true);
      expect(o).toMatch(/^\p{Script=Han}/u);
    }
    expect(readPreparedPrompts(home)).toEqual(made.prompts);
    expect(preparedCorpus(home)).toEqual([shop, waimai]);
    // Open openings: the trained classifier alone scores each within the band, as PPO scores an empty continuation.
    const classifier = loadBertDir(made.classifierDir);
    const scores = scoreItems(
      classifier,
      openings.map((o) => ({ prompt: o, completion: "" })),
      { maxLength: 32, batchSize: 64 },
    );
    disposeParams(classifier.params);
    for (const s of scores) {
      expect(s).toBeGreaterThanOrEqual(OPEN_BAND[0]);
      expect(s).toBeLessThanOrEqual(OPEN_BAND[1]);
    }
    expect(JSON.parse(readFileSync(made.promptsFile, "utf8")).rule).toBe(PROMPT_RULE);

    expect((await prepare({ home, corpus: [shop, waimai], ...TINY }, () => {})).cached).toBe(true);
  }, 180_000);

  it("chooses the prompts again, without training, when prompts.json was made by another rule", async () => {
    const paths = preparedPaths(home);
    const weights = join(paths.classifierDir, "model.safetensors");
    const before = statSync(weights).mtimeMs;
    const current = JSON.parse(readFileSync(paths.promptsFile, "utf8"));
    // A home prepared before the rule existed: every opening, no rule recorded.
    writeFileSync(paths.promptsFile, JSON.stringify({ prompts: [...SEED_PROMPTS, "酒店太脏"], from: current.from }));
    const lines: string[] = [];
    const again = await prepare({ home, corpus: [shop, waimai], ...TINY }, (l) => lines.push(l));
    expect(again.cached).toBe(true);
    expect(lines.join("\n")).toMatch(/choosing PPO's prompts again/);
    expect(again.prompts).toEqual(current.prompts);
    expect(readPreparedPrompts(home)).toEqual(current.prompts);
    expect(statSync(weights).mtimeMs).toBe(before);
  }, 60_000);

  it("prepares again when a corpus file's content changes, and for generated reviews without a corpus", async () => {
    writeFileSync(waimai, `${readFileSync(waimai, "utf8")}0,送来的时候已经凉了\r\n`);
    const lines: string[] = [];
    expect((await prepare({ home, corpus: [shop, waimai], ...TINY }, (l) => lines.push(l))).cached).toBe(false);
    expect(lines.join("\n")).toMatch(/the recipe changed/);
    const generated = await prepare({ home, reviews: 200, ...TINY }, () => {});
    expect(generated.cached).toBe(false);
    expect(generated.prompts).toEqual(SEED_PROMPTS);
    expect(readPreparedPrompts(home)).toEqual(SEED_PROMPTS);
    expect(preparedCorpus(home)).toBeUndefined();
  }, 180_000);

  it("names the file and line of a malformed corpus row before training anything", async () => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "label,review\n1,好\n1,还行\nyes,不错\n");
    await expect(prepare({ home: join(dir, "bad-home"), corpus: [bad], ...TINY }, () => {})).rejects.toThrow(/bad\.csv:4: label must be 0 or 1, got "yes"/);
    expect(existsSync(join(dir, "bad-home", "models", "policy-gpt2"))).toBe(false);
  });
});
