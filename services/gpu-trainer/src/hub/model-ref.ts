import { UserError } from "../errors.ts";

/** A model on the Hub: `hf:owner/name[@revision]` (a branch, a tag or a 40-hex commit; `main` when absent). */
export interface HubModelRef {
  repo: string;
  revision: string;
}

const PREFIX = "hf:";
// The Hub's own rule for repository names: letters, digits, `-`, `_`, `.`; no `--` or `..`, no leading/trailing `-` or `.`.
const NAME_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

export function isHubRef(value: string): boolean {
  return value.startsWith(PREFIX);
}

/**
 * Parses a Hub reference; a UserError names the value and the expected shape.
 * @example parseHubRef("hf:uer/gpt2-chinese-cluecorpussmall@main") // { repo: "uer/gpt2-chinese-cluecorpussmall", revision: "main" }
 */
export function parseHubRef(value: string): HubModelRef {
  if (!isHubRef(value)) throw new UserError(`"${value}" is not a Hub model name; write hf:owner/name[@revision]`);
  const body = value.slice(PREFIX.length);
  const at = body.indexOf("@");
  const repo = at < 0 ? body : body.slice(0, at);
  const revision = at < 0 ? "main" : body.slice(at + 1);
  const parts = repo.split("/");
  const bad = parts.length !== 2 || parts.some((p) => !NAME_PART.test(p) || p.includes("--") || p.includes(".."));
  if (bad) throw new UserError(`"${value}": a Hub model name is hf:owner/name[@revision] (letters, digits, - _ .), e.g. hf:uer/gpt2-chinese-cluecorpussmall`);
  // Revisions are git ref names or commits; `..`, a leading `/` or a space could escape the cache's refs/ folder.
  if (revision === "" || revision.includes("..") || revision.startsWith("/") || /[\s\\~^:?*[]/.test(revision)) {
    throw new UserError(`"${value}": "${revision}" is not a revision (a branch, a tag or a commit)`);
  }
  return { repo, revision };
}

/** The 40-hex commit ids the Hub gives snapshots. */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}
