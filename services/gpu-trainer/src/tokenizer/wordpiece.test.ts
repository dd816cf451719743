import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../errors.ts";
import { readVocabTxt, vocabFromTokens } from "./vocab.ts";
import { loadTokenizer, WordPieceTokenizer } from "./wordpiece.ts";

const TOKENS = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  "刚",
  "收",
  "到",
  "货",
  "，",
  "感",
  "觉",
  "有",
  "点",
  "好",
  "！",
  "iphone",
  "un",
  "##aff",
  "##able",
  "gpu",
  "的",
  "很",
  "。",
  "a",
  "##b",
  "5",
  "##g",
];
const tokenizer = new WordPieceTokenizer(vocabFromTokens(TOKENS, "test-vocab"));

describe("WordPiece tokenizer", () => {
  it("splits Chinese one token per character, punctuation included", () => {
    expect(tokenizer.tokenize("刚收到货，感觉有点好！")).toEqual(["刚", "收", "到", "货", "，", "感", "觉", "有", "点", "好", "！"]);
  });

  it("handles mixed Chinese and ASCII with lower-casing and sub-words", () => {
    expect(tokenizer.tokenize("iPhone很好 unaffable GPU的5G")).toEqual(["iphone", "很", "好", "un", "##aff", "##able", "gpu", "的", "5", "##g"]);
  });

  it("maps unknown characters and unmatchable words to [UNK]", () => {
    expect(tokenizer.tokenize("刚买😀 xyz")).toEqual(["刚", "[UNK]", "[UNK]", "[UNK]"]);
    expect(tokenizer.encodeText("刚买")).toEqual([5, tokenizer.unk]);
  });

  it("drops control characters and treats any whitespace as a separator", () => {
    expect(tokenizer.tokenize("好\u0000\u200b\t很\n好")).toEqual(["好", "很", "好"]);
  });

  // The three cases where ranklab and transformers' BertTokenizer disagreed (issue 12), from real reviews and tricky strings.
  it("drops private-use, format, control and surrogate characters, as BertTokenizer does", () => {
    // U+E403 (Co) sat inside a real review; U+F0000 is Co in plane 15, U+D800 a lone
    // surrogate (Cs), U+00AD a soft hyphen (Cf), U+0085 and U+001F controls (Cc).
    expect(tokenizer.tokenize("很好\ue403！")).toEqual(["很", "好", "！"]);
    expect(tokenizer.tokenize("好\u{f0000}很好\ud800感\u00ad觉\u0085有\u001f点")).toEqual(["好", "很", "好", "感", "觉", "有", "点"]);
    // An unassigned code point (Cn) is kept, as transformers 5.17's BertTokenizer keeps it (io/fixtures/hf-5.17).
    expect(tokenizer.tokenize("好\u0378")).toEqual(["好", "[UNK]"]);
    // Dropped, not a separator: the word around it stays one word.
    expect(tokenizer.tokenize("un\ue403aff\u200bable")).toEqual(["un", "##aff", "##able"]);
  });

  it("treats U+2028, U+2029 and every other Unicode separator as whitespace", () => {
    expect(tokenizer.tokenize("好\u2028很\u2029好")).toEqual(["好", "很", "好"]);
    expect(tokenizer.tokenize("gpu\u2028un\u2029aff\u3000gpu\u00a0gpu")).toEqual(["gpu", "un", "[UNK]", "gpu", "gpu"]);
    expect(tokenizer.encodeText("好\u2028好")).not.toContain(tokenizer.unk);
  });

  it("maps the literal special tokens to their ids instead of splitting them", () => {
    expect(tokenizer.tokenize("好[SEP]很好")).toEqual(["好", "[SEP]", "很", "好"]);
    expect(tokenizer.encodeText("[CLS]好 [SEP] [PAD][UNK][MASK]")).toEqual([tokenizer.cls, 14, tokenizer.sep, tokenizer.pad, tokenizer.unk, 4]);
    // Only the exact text: lower case is ordinary punctuation and letters ("sep" is not in this vocabulary).
    expect(tokenizer.tokenize("[sep]")).toEqual(["[UNK]", "[UNK]", "[UNK]"]);
    // [MASK] is [UNK] where the vocabulary has no [MASK], as convert_tokens_to_ids does.
    const noMask = new WordPieceTokenizer(
      vocabFromTokens(
        TOKENS.filter((t) => t !== "[MASK]"),
        "no-mask",
      ),
    );
    expect(noMask.encodeText("好[MASK]")).toEqual([noMask.vocab.ids.get("好"), noMask.unk]);
    // With special tokens around the text, a literal [SEP] is one token, not three.
    const enc = tokenizer.encodeBatch(["好[SEP]好"], 16);
    expect([...enc.inputIds]).toEqual([2, 14, 3, 14, 3]);
  });

  it("adds [CLS]/[SEP], truncates to maxLength and pads the batch", () => {
    const enc = tokenizer.encodeBatch(["刚收到货", "好"], 5);
    expect(enc.length).toBe(5);
    expect([...enc.inputIds]).toEqual([2, 5, 6, 7, 3, 2, 14, 3, 0, 0]);
    expect([...enc.attentionMask]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  });

  it("encodes pairs with token types, trimming the longer segment first", () => {
    const enc = tokenizer.encodeBatch(["好"], 7, ["刚收到货"]);
    expect([...enc.inputIds]).toEqual([2, 14, 3, 5, 6, 7, 3]);
    expect([...enc.tokenTypeIds]).toEqual([0, 0, 0, 1, 1, 1, 1]);
  });

  it("decodes the way the seed prints text: no spaces around Chinese, ## joined", () => {
    const ids = tokenizer.encodeBatch(["刚收到货，感觉有点好！iPhone unaffable gpu"], 64).inputIds;
    expect(tokenizer.decode(ids)).toBe("刚收到货，感觉有点好！iphone unaffable gpu");
  });

  it("refuses a vocabulary without [UNK], and duplicates, naming the file and line", () => {
    expect(() => vocabFromTokens(["[PAD]", "[CLS]", "[SEP]"], "v.txt")).toThrow(/v\.txt: the vocabulary lacks \[UNK\]/);
    expect(() => vocabFromTokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "好", "好"], "v.txt")).toThrow(/v\.txt: line 6: token "好" already appears on line 5/);
    expect(() => readVocabTxt("/nonexistent/vocab.txt")).toThrow(UserError);
  });

  it("loads vocab.txt or a Hugging Face tokenizer.json from a model folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "tok-"));
    writeFileSync(join(dir, "vocab.txt"), `${TOKENS.join("\n")}\n`);
    expect(loadTokenizer(dir).tokenize("刚收到")).toEqual(["刚", "收", "到"]);

    const jsonDir = mkdtempSync(join(tmpdir(), "tok-"));
    writeFileSync(
      join(jsonDir, "tokenizer.json"),
      JSON.stringify({
        model: { type: "WordPiece", vocab: Object.fromEntries(TOKENS.map((t, i) => [t, i])) },
        normalizer: { type: "BertNormalizer", lowercase: false },
      }),
    );
    const fromJson = loadTokenizer(jsonDir);
    expect(fromJson.tokenize("GPU 刚")).toEqual(["[UNK]", "刚"]);
    expect(() => loadTokenizer(mkdtempSync(join(tmpdir(), "tok-")))).toThrow(/no vocab\.txt or tokenizer\.json/);
  });
});
