import { downloadFileToCacheDir, listFiles, modelInfo } from "@huggingface/hub";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { UserError } from "../errors.ts";
import { fileProgress, formatBytes } from "./file-progress.ts";
import { explainHubError } from "./hub-errors.ts";
import { hubFetch, type HubFetch } from "./hub-fetch.ts";
import { hubSettings, type HubSettings } from "./hub-settings.ts";
import { isCommitHash, isHubRef, parseHubRef, type HubModelRef } from "./model-ref.ts";
import { isCompleteModelFolder, modelFilesToDownload, type RepoFile } from "./model-files.ts";

export interface ResolveOptions {
  /** The environment to read HF_* from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** No progress bars or per-file lines. */
  quiet?: boolean;
}

/** The cache folder of one model repository, as huggingface_hub names it (models--owner--name). */
export function repoCacheDir(settings: HubSettings, repo: string): string {
  return join(settings.cacheDir, `models--${repo.split("/").join("--")}`);
}

/**
 * The snapshot a revision points to in the cache, if it holds a whole model: a commit is
 * its own snapshot; a branch or tag is looked up in refs/ (which Python's huggingface_hub
 * writes too). Found means used, with no request: pin @commit to be exact, or delete
 * refs/<branch> to look for a newer commit.
 */
function cachedSnapshot(storage: string, revision: string): string | undefined {
  const refFile = join(storage, "refs", revision);
  const commit = isCommitHash(revision) ? revision : existsSync(refFile) ? readFileSync(refFile, "utf8").trim() : undefined;
  if (!commit) return undefined;
  const snapshot = join(storage, "snapshots", commit);
  return isCompleteModelFolder(snapshot) ? snapshot : undefined;
}

/**
 * A model folder from a model reference: a folder is returned as it is; `hf:owner/name[@revision]`
 * is found in the Hugging Face cache or downloaded into it (only the files a model needs)
 * through @huggingface/hub, and its snapshot folder returned.
 * @example await resolveModelDir("hf:uer/gpt2-chinese-cluecorpussmall") // ~/.cache/huggingface/hub/models--uer--gpt2-chinese-cluecorpussmall/snapshots/<commit>
 */
export async function resolveModelDir(ref: string, options: ResolveOptions = {}): Promise<string> {
  if (!isHubRef(ref)) return ref;
  const model = parseHubRef(ref);
  const settings = hubSettings(options.env);
  const storage = repoCacheDir(settings, model.repo);
  const cached = cachedSnapshot(storage, model.revision);
  if (cached) return cached;
  if (settings.offline) {
    throw new UserError(
      `${ref}: HF_HUB_OFFLINE is set and ${model.repo}@${model.revision} is not in the cache (${storage}); run once with network access, or unset HF_HUB_OFFLINE`,
    );
  }
  if (settings.token && !settings.token.startsWith("hf_")) throw new UserError("HF_TOKEN: a Hugging Face access token starts with hf_");
  return download(ref, model, settings, storage, options.quiet ?? false);
}

async function download(ref: string, model: HubModelRef, settings: HubSettings, storage: string, quiet: boolean): Promise<string> {
  const timeouts = { headersTimeoutMs: settings.metadataTimeoutSeconds * 1000, stallTimeoutMs: settings.downloadTimeoutSeconds * 1000 };
  const api: HubFetch = hubFetch(timeouts);
  const common = { hubUrl: settings.endpoint, ...(settings.token ? { accessToken: settings.token } : {}) };
  const context = { what: ref, repo: model.repo, revision: model.revision, settings };
  let commit: string;
  let files: RepoFile[];
  try {
    // 1. The revision's commit, so every file lands in one snapshot (the library alone would file each under its own last commit).
    commit = (await modelInfo({ ...common, fetch: api.fetch, name: model.repo, revision: model.revision, additionalFields: ["sha"] })).sha;
    // 2. The top-level files, and of them the ones a model needs.
    const listed: RepoFile[] = [];
    for await (const entry of listFiles({ ...common, fetch: api.fetch, repo: { type: "model", name: model.repo }, revision: commit })) {
      if (entry.type === "file") listed.push({ path: entry.path, size: entry.size });
    }
    files = modelFilesToDownload(ref, listed);
  } catch (err) {
    throw explainHubError(err, { ...context, errorCode: api.lastErrorCode() });
  }
  if (!quiet)
    console.error(
      `hub: ${ref} is commit ${commit.slice(0, 12)}; ${files.length} files, ${formatBytes(files.reduce((s, f) => s + f.size, 0))}, into ${storage}`,
    );
  // 3. Each file into blobs/ with its snapshot link, as huggingface_hub lays them out (already-present blobs are linked, not fetched).
  for (const file of files) {
    const bar = fileProgress(`hub: ${file.path}`, file.size, quiet);
    const perFile = hubFetch({ ...timeouts, onFileBytes: (received) => bar.update(received) });
    const debug = console.debug;
    // The library announces each download with console.debug, which is stdout in Node; stdout is the command's output.
    console.debug = () => {};
    try {
      await downloadFileToCacheDir({
        ...common,
        fetch: perFile.fetch,
        repo: { type: "model", name: model.repo },
        path: file.path,
        revision: commit,
        cacheDir: settings.cacheDir,
      });
      bar.done();
    } catch (err) {
      bar.stop();
      throw explainHubError(err, { ...context, file: file.path, errorCode: perFile.lastErrorCode() });
    } finally {
      console.debug = debug;
    }
  }
  // 4. refs/<branch> → commit, so the next call (and Python) finds the snapshot without asking.
  if (model.revision !== commit) {
    const refFile = join(storage, "refs", model.revision);
    mkdirSync(dirname(refFile), { recursive: true });
    writeFileSync(refFile, commit);
  }
  return join(storage, "snapshots", commit);
}
