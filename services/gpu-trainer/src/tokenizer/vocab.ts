import { existsSync, readFileSync } from "node:fs";
import { UserError } from "../errors.ts";

export const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;

export interface Vocab {
  tokens: string[];
  ids: Map<string, number>;
  source: string;
}

export function vocabFromTokens(tokens: string[], source: string): Vocab {
  const ids = new Map<string, number>();
  tokens.forEach((token, id) => {
    if (ids.has(token)) throw new UserError(`${source}: line ${id + 1}: token "${token}" already appears on line ${ids.get(token)! + 1}`);
    ids.set(token, id);
  });
  for (const special of ["[UNK]", "[CLS]", "[SEP]", "[PAD]"]) {
    if (!ids.has(special))
      throw new UserError(`${source}: the vocabulary lacks ${special}; a BERT vocab.txt has one token a line including [PAD], [UNK], [CLS] and [SEP]`);
  }
  return { tokens, ids, source };
}

/** Reads a BERT `vocab.txt`: one token a line, the line number (from 0) is its id. */
export function readVocabTxt(path: string): Vocab {
  if (!existsSync(path)) throw new UserError(`${path}: no such vocabulary file`);
  const lines = readFileSync(path, "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return vocabFromTokens(
    lines.map((l) => l.replace(/\r$/, "")),
    path,
  );
}

export function vocabTxt(vocab: Vocab): string {
  return `${vocab.tokens.join("\n")}\n`;
}
