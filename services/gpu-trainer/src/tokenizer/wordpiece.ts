import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { basicTokenize, isCjk, isPunctuation } from "./basic.ts";
import { readVocabTxt, SPECIAL_TOKENS, vocabFromTokens, type Vocab } from "./vocab.ts";

/** Splits text around the special tokens' literal text, keeping them (a capture group). */
const SPECIAL_LITERAL = new RegExp(`(${SPECIAL_TOKENS.map((t) => t.replace(/[[\]]/g, "\\$&")).join("|")})`);

export interface TokenizerOptions {
  lowercase: boolean;
  /** Words longer than this become [UNK] (BERT's max_input_chars_per_word). */
  maxCharsPerWord: number;
}

export interface Encoded {
  /** [B, T] row-major token ids, padded with [PAD]. */
  inputIds: Int32Array;
  /** [B, T] 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** [B, T] 0 for the first segment, 1 for the second (pairs). */
  tokenTypeIds: Int32Array;
  batch: number;
  length: number;
}

/**
 * BERT WordPiece, as used by the Chinese GPT-2 (uer/gpt2-chinese-cluecorpussmall) and
 * the ERNIE/BERT encoders: basic tokenization, then greedy longest-match sub-words
 * with a `##` prefix for continuations.
 */
export class WordPieceTokenizer {
  readonly pad: number;
  readonly unk: number;
  readonly cls: number;
  readonly sep: number;

  constructor(
    readonly vocab: Vocab,
    readonly options: TokenizerOptions = { lowercase: true, maxCharsPerWord: 100 },
  ) {
    this.pad = vocab.ids.get("[PAD]")!;
    this.unk = vocab.ids.get("[UNK]")!;
    this.cls = vocab.ids.get("[CLS]")!;
    this.sep = vocab.ids.get("[SEP]")!;
  }

  get size(): number {
    return this.vocab.tokens.length;
  }

  /**
   * Tokens of `text`. The literal special tokens ([CLS], [SEP], [PAD], [MASK], [UNK],
   * case as written) stay whole, as in Hugging Face's BertTokenizer (they are its
   * never-split tokens): `tokenize("好[SEP]吧")` is `["好", "[SEP]", "吧"]`.
   */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const part of text.split(SPECIAL_LITERAL)) {
      if ((SPECIAL_TOKENS as readonly string[]).includes(part)) {
        out.push(part);
        continue;
      }
      for (const word of basicTokenize(part, { lowercase: this.options.lowercase })) out.push(...this.wordPieces(word));
    }
    return out;
  }

  private wordPieces(word: string): string[] {
    const chars = [...word];
    if (chars.length > this.options.maxCharsPerWord) return ["[UNK]"];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const piece = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
        if (this.vocab.ids.has(piece)) {
          found = piece;
          break;
        }
        end--;
      }
      // One unmatchable part makes the whole word [UNK], as in BERT.
      if (!found) return ["[UNK]"];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  /** Token ids without added special tokens (a literal "[SEP]" in the text is the [SEP] id; [MASK] is [UNK] when the vocabulary lacks it). */
  encodeText(text: string): number[] {
    return this.tokenize(text).map((t) => this.vocab.ids.get(t) ?? this.unk);
  }

  /**
   * `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]` for each row, truncated to `maxLength`
   * (the longer segment loses tokens first) and padded to the longest row.
   */
  encodeBatch(texts: readonly string[], maxLength: number, pairs?: readonly string[]): Encoded {
    if (maxLength < 3) throw new UserError(`maxLength must be at least 3 (for [CLS] x [SEP]), got ${maxLength}`);
    const rows = texts.map((text, i) => {
      let a = this.encodeText(text);
      let b = pairs ? this.encodeText(pairs[i] ?? "") : undefined;
      const budget = maxLength - (b ? 3 : 2);
      while (a.length + (b?.length ?? 0) > budget) {
        if (b && b.length > a.length) b = b.slice(0, -1);
        else a = a.slice(0, -1);
      }
      const ids = [this.cls, ...a, this.sep, ...(b ? [...b, this.sep] : [])];
      const types = ids.map((_, k) => (k < a.length + 2 ? 0 : 1));
      return { ids, types };
    });
    const length = Math.max(...rows.map((r) => r.ids.length));
    const inputIds = new Int32Array(rows.length * length).fill(this.pad);
    const attentionMask = new Int32Array(rows.length * length);
    const tokenTypeIds = new Int32Array(rows.length * length);
    rows.forEach((row, r) => {
      inputIds.set(row.ids, r * length);
      attentionMask.fill(1, r * length, r * length + row.ids.length);
      tokenTypeIds.set(row.types, r * length);
    });
    return { inputIds, attentionMask, tokenTypeIds, batch: rows.length, length };
  }

  /**
   * Text from ids the way the seed prints generations: special tokens dropped, `##`
   * pieces joined to the previous token, and no spaces next to a Chinese character or
   * punctuation (BERT's decode puts a space between every token).
   */
  decode(ids: Iterable<number>, { skipSpecial = true } = {}): string {
    let out = "";
    let previous = "";
    for (const id of ids) {
      const token = this.vocab.tokens[id] ?? "[UNK]";
      if (skipSpecial && (token === "[PAD]" || token === "[CLS]" || token === "[SEP]" || token === "[MASK]")) continue;
      if (token.startsWith("##")) {
        out += token.slice(2);
        previous = token.slice(2);
        continue;
      }
      if (out && needsSpace(previous, token)) out += " ";
      out += token;
      previous = token;
    }
    return out;
  }
}

function tight(token: string): boolean {
  const first = token.codePointAt(0);
  return first !== undefined && [...token].length === 1 && (isCjk(first) || isPunctuation(token) || first >= 0x3000);
}

function needsSpace(previous: string, next: string): boolean {
  return !(tight(previous) || tight(next));
}

/**
 * Loads a tokenizer from a model folder: `vocab.txt`, or `tokenizer.json` (a Hugging
 * Face fast tokenizer with a WordPiece model). Lower-casing follows
 * `tokenizer_config.json`/the normalizer, defaulting to true as in BERT-base-chinese.
 */
export function loadTokenizer(dir: string): WordPieceTokenizer {
  const vocabPath = join(dir, "vocab.txt");
  const jsonPath = join(dir, "tokenizer.json");
  const lowercase = readLowercase(dir);
  if (existsSync(vocabPath)) return new WordPieceTokenizer(readVocabTxt(vocabPath), { lowercase, maxCharsPerWord: 100 });
  if (existsSync(jsonPath)) return tokenizerFromJson(jsonPath);
  throw new UserError(`${dir}: no vocab.txt or tokenizer.json; a model folder needs one of them`);
}

function readLowercase(dir: string): boolean {
  const configPath = join(dir, "tokenizer_config.json");
  if (!existsSync(configPath)) return true;
  const config = parseJsonFile(configPath) as { do_lower_case?: boolean };
  return config.do_lower_case ?? true;
}

export function tokenizerFromJson(path: string): WordPieceTokenizer {
  const json = parseJsonFile(path) as {
    model?: { type?: string; vocab?: Record<string, number>; max_input_chars_per_word?: number };
    normalizer?: { type?: string; lowercase?: boolean } | null;
  };
  if (json.model?.type !== "WordPiece" || !json.model.vocab) {
    throw new UserError(`${path}: expected a WordPiece model with a vocab (model.type = "WordPiece"), got ${JSON.stringify(json.model?.type)}`);
  }
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(json.model.vocab)) {
    if (!Number.isInteger(id) || id < 0) throw new UserError(`${path}: token "${token}" has id ${id}, not a non-negative integer`);
    if (tokens[id] !== undefined) throw new UserError(`${path}: id ${id} is given to both "${tokens[id]}" and "${token}"`);
    tokens[id] = token;
  }
  // biome-ignore lint/complexity/useIndexOf: findIndex visits the holes of this sparse array; indexOf(undefined) skips them
  const missing = tokens.findIndex((t) => t === undefined);
  if (missing >= 0 || tokens.length === 0) throw new UserError(`${path}: the vocabulary's ids are not contiguous (id ${missing} has no token)`);
  return new WordPieceTokenizer(vocabFromTokens(tokens, path), {
    lowercase: json.normalizer?.lowercase ?? true,
    maxCharsPerWord: json.model.max_input_chars_per_word ?? 100,
  });
}

function parseJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}
