import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { UserError } from "../errors.ts";

/**
 * Labelled review corpora as CSV (RFC 4180): a header `label,review` or
 * `cat,label,review`, then one review a record; label 1 positive, 0 negative. The
 * format of the corpora in ../shared/data/corpora (SophonPlus/ChineseNlpCorpus).
 */
export interface CorpusReview {
  text: string;
  /** 1 positive, 0 negative. */
  label: 0 | 1;
  /** The category, when the file has a `cat` column. */
  cat?: string;
}

export interface CorpusFile {
  file: string;
  columns: "label,review" | "cat,label,review";
  reviews: CorpusReview[];
  /** Records whose review is empty (or only whitespace): skipped, and counted here. */
  emptySkipped: number;
}

interface CsvRecord {
  fields: string[];
  /** 1-based line of the file where the record starts. */
  line: number;
}

const fail = (file: string, line: number, why: string): never => {
  throw new UserError(`${file}:${line}: ${why}`);
};

/**
 * RFC 4180 records: comma-separated fields, CRLF or LF between records, a field in
 * double quotes may hold commas, line breaks and `""` (one quote). A quote inside an
 * unquoted field, text after a closing quote, or a quote left open is an error naming
 * the file and line.
 */
export function parseCsvRecords(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    // One record: fields until an unquoted line break or the end.
    for (;;) {
      let field = "";
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) fail(file, start, 'a quoted field is not closed (a " is missing)');
          const ch = text[i]!;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === "\n") line++;
          field += ch;
          i++;
        }
        const next = text[i];
        if (next !== undefined && next !== "," && next !== "\n" && next !== "\r")
          fail(file, line, `text after a closing quote: ${JSON.stringify(text.slice(i, i + 20))}`);
      } else {
        const from = i;
        while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
          if (text[i] === '"')
            fail(file, line, `a quote inside an unquoted field: ${JSON.stringify(text.slice(from, i + 10))} (quote the whole field and double the quote)`);
          i++;
        }
        field = text.slice(from, i);
      }
      fields.push(field);
      if (text[i] === ",") {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === "\r") i++;
    if (text[i] === "\n") i++;
    line++;
    // A blank line (one empty field) is no record.
    if (!(fields.length === 1 && fields[0] === "")) records.push({ fields, line: start });
  }
  return records;
}

/** Parses one corpus file's text; `file` names it in errors. */
export function parseCorpusCsv(text: string, file: string): CorpusFile {
  const [header, ...rows] = parseCsvRecords(text, file);
  if (!header) fail(file, 1, "empty file: expected a header `label,review` or `cat,label,review`");
  const names = header!.fields.map((f) => f.trim().toLowerCase()).join(",");
  if (names !== "label,review" && names !== "cat,label,review")
    fail(file, header!.line, `expected a header \`label,review\` or \`cat,label,review\`, found \`${header!.fields.join(",").slice(0, 80)}\``);
  const columns = names as CorpusFile["columns"];
  const withCat = columns === "cat,label,review";
  const width = withCat ? 3 : 2;
  const reviews: CorpusReview[] = [];
  let emptySkipped = 0;
  for (const { fields, line } of rows) {
    if (fields.length !== width)
      fail(file, line, `${fields.length} field(s) where the header \`${columns}\` has ${width} (a review with a comma must be quoted)`);
    const label = fields[withCat ? 1 : 0]!.trim();
    if (label !== "0" && label !== "1") fail(file, line, `label must be 0 or 1, got ${JSON.stringify(label.slice(0, 20))}`);
    const review = fields[width - 1]!.trim();
    if (review === "") {
      emptySkipped++;
      continue;
    }
    reviews.push({ text: review, label: label === "1" ? 1 : 0, ...(withCat ? { cat: fields[0]!.trim() } : {}) });
  }
  return { file, columns, reviews, emptySkipped };
}

/** Reads and parses each file (UTF-8). */
export function readCorpusFiles(files: readonly string[]): CorpusFile[] {
  if (files.length === 0) throw new UserError("no corpus file given");
  return files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new UserError(`cannot read corpus ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return parseCorpusCsv(text, file);
  });
}

/** What identifies a corpus file in prepare's recipe: its absolute path, size and content hash. */
export interface CorpusFileIdentity {
  path: string;
  bytes: number;
  sha256: string;
}

export function corpusIdentity(files: readonly string[]): CorpusFileIdentity[] {
  return files.map((file) => {
    const path = resolve(file);
    let bytes: number;
    try {
      bytes = statSync(path).size;
    } catch {
      throw new UserError(`corpus file not found: ${file}`);
    }
    return { path, bytes, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
  });
}

/**
 * Whether a review belongs to the held-out split: decided by a hash of its text, so
 * the split is the same whatever the order or the other files, and a text that occurs
 * twice is on one side only. `fraction` of the reviews, in expectation.
 */
export function isHeldOut(text: string, fraction: number): boolean {
  const h = createHash("sha1").update(text).digest();
  return h.readUInt32BE(0) / 0x1_0000_0000 < fraction;
}

/**
 * A review's opening, for a PPO prompt: up to its first comma-like break when that
 * comes after 2–`maxChars` characters, else its first `fallbackChars` characters.
 * Empty when the review is too short to leave anything to continue.
 */
export function reviewOpening(text: string, maxChars = 8, fallbackChars = 6): string {
  const chars = [...text.trim()];
  const cut = chars.findIndex((ch) => "，,。.！!？?；;、 ".includes(ch));
  if (cut >= 2 && cut <= maxChars) return chars.slice(0, cut + (chars[cut] === "，" ? 1 : 0)).join("");
  if (chars.length <= fallbackChars + 2) return "";
  return chars.slice(0, fallbackChars).join("");
}
