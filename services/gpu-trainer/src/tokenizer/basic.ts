/**
 * BERT's basic tokenization, as Hugging Face's BertTokenizer does it: drop control,
 * format, private-use and surrogate characters, put spaces around every CJK character (so Chinese is one token per
 * character), optionally lower-case and strip accents, then split on whitespace and
 * punctuation.
 */

/** The CJK Unified Ideographs blocks BERT treats as one token per character. */
export function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * Whitespace: space, \t, \n, \r and every Unicode separator (Z: Zs, and U+2028/U+2029,
 * Zl/Zp). BERT's `_is_whitespace` names only Zs, but its `whitespace_tokenize` splits
 * with Python's `str.split()`, which also splits on U+2028/U+2029.
 */
function isWhitespace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || /\p{Z}/u.test(ch);
}

/**
 * Dropped before tokenizing, as BertTokenizer does: the Unicode "other" characters Cc
 * (controls), Cf (formats such as U+200B and the soft hyphen), Co (private use such as
 * U+E403) and Cs (lone surrogates), except \t, \n and \r, which are whitespace.
 * Unassigned code points (Cn) are kept, and so become [UNK]: that is what transformers
 * 5.17's BertTokenizer does (checked on U+0378, io/fixtures/hf-5.17); the Python
 * BertTokenizer of transformers 4 dropped them too.
 */
function isControl(ch: string): boolean {
  if (ch === "\t" || ch === "\n" || ch === "\r") return false;
  return /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u.test(ch);
}

/** ASCII symbols count as punctuation (as in BERT), and so does Unicode P*: ，。！ etc. */
export function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(ch);
}

export interface BasicOptions {
  lowercase: boolean;
  /** Defaults to `lowercase`, as in BERT. */
  stripAccents?: boolean;
}

export function basicTokenize(text: string, options: BasicOptions): string[] {
  let cleaned = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    if (isWhitespace(ch)) cleaned += " ";
    else if (isCjk(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  const out: string[] = [];
  for (let word of cleaned.split(" ")) {
    if (!word) continue;
    if (options.lowercase) word = word.toLowerCase();
    if (options.stripAccents ?? options.lowercase) word = word.normalize("NFD").replace(/\p{Mn}/gu, "");
    let current = "";
    for (const ch of word) {
      if (isPunctuation(ch)) {
        if (current) out.push(current);
        out.push(ch);
        current = "";
      } else current += ch;
    }
    if (current) out.push(current);
  }
  return out;
}
