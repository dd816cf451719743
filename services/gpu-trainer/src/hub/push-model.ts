import { commitIter, createRepo, HubApiError, type CommitOperation } from "@huggingface/hub";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { UserError } from "../errors.ts";
import { fileProgress, formatBytes, type FileProgress } from "./file-progress.ts";
import { explainHubError } from "./hub-errors.ts";
import { hubFetch } from "./hub-fetch.ts";
import { hubSettings } from "./hub-settings.ts";
import { isRanklabEncoder, modelCard } from "./model-card.ts";
import { parseHubRef } from "./model-ref.ts";

/** The Python class that loads ranklab's own encoders in transformers, shipped beside such a model. */
const RANKLAB_BERT_PY = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "python", "ranklab_bert.py");

/** Files of a checkpoint folder that are not the model: an archive being published, resume state. */
const SKIP = [/\.publish\.tar$/, /^state\.json$/, /^\./, /^README\.md$/];

export interface PushOptions {
  env?: NodeJS.ProcessEnv;
  quiet?: boolean;
  /** Create the repository private (when it does not exist yet). */
  private?: boolean;
}

export interface PushResult {
  commit: string;
  url: string;
  files: string[];
}

/**
 * Uploads a model folder (a published checkpoint, or any ranklab model folder) as a Hub
 * model repository through @huggingface/hub: the repository is created if missing, and one
 * commit adds the folder's files, a model card (README.md) and, for ranklab's own
 * encoders, ranklab_bert.py. Large files go the way the Hub asks (LFS or xet).
 */
export async function pushModelDir(dir: string, repo: string, options: PushOptions = {}): Promise<PushResult> {
  const { repo: name } = parseHubRef(`hf:${repo}`);
  if (repo.includes("@")) throw new UserError(`--repo ${repo}: give owner/name (pushes go to main)`);
  if (!existsSync(join(dir, "config.json"))) throw new UserError(`${dir}: no config.json; checkpoints push uploads a model folder`);
  const settings = hubSettings(options.env);
  if (!settings.token) throw new UserError("checkpoints push needs HF_TOKEN: an access token with write permission (huggingface.co/settings/tokens)");
  if (!settings.token.startsWith("hf_")) throw new UserError("HF_TOKEN: a Hugging Face access token starts with hf_");
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  const files = readdirSync(dir).filter((f) => !SKIP.some((re) => re.test(f)) && statSync(join(dir, f)).isFile());
  const operations: CommitOperation[] = files.map((f) => ({ operation: "addOrUpdate", path: f, content: pathToFileURL(join(dir, f)) }));
  operations.push({ operation: "addOrUpdate", path: "README.md", content: new Blob([modelCard(dir, name)]) });
  if (isRanklabEncoder(config)) operations.push({ operation: "addOrUpdate", path: "ranklab_bert.py", content: new Blob([readFileSync(RANKLAB_BERT_PY)]) });
  const paths = operations.map((o) => o.path);

  const api = hubFetch({ headersTimeoutMs: settings.metadataTimeoutSeconds * 1000, stallTimeoutMs: settings.downloadTimeoutSeconds * 1000 });
  const common = { hubUrl: settings.endpoint, accessToken: settings.token, fetch: api.fetch, repo: { type: "model" as const, name } };
  const context = { what: `checkpoints push ${dir} --repo ${name}`, repo: name, revision: "main", settings };
  try {
    await createRepo({ ...common, ...(options.private ? { private: true } : {}) });
  } catch (err) {
    // 409: it exists already; the commit adds to it.
    if (!(err instanceof HubApiError && err.statusCode === 409)) throw explainHubError(err, { ...context, errorCode: api.lastErrorCode() });
  }
  const bars = new Map<string, FileProgress>();
  const sizes = new Map(files.map((f) => [f, statSync(join(dir, f)).size]));
  try {
    const commits = commitIter({ ...common, operations, title: `ranklab: push ${dir.split("/").filter(Boolean).pop() ?? dir}` });
    for (;;) {
      const step = await commits.next();
      if (step.done) {
        for (const bar of bars.values()) bar.done();
        const commit = step.value?.commit.oid ?? "";
        if (!options.quiet)
          console.error(
            `hub: pushed ${paths.length} files (${formatBytes([...sizes.values()].reduce((a, b) => a + b, 0))}) to ${settings.endpoint}/${name} at commit ${commit.slice(0, 12)}`,
          );
        return { commit, url: `${settings.endpoint}/${name}`, files: paths };
      }
      const event = step.value;
      // A bar per file while it uploads (hashing is local and quick).
      if (event.event === "fileProgress" && event.state === "uploading") {
        const size = sizes.get(event.path) ?? 0;
        const bar = bars.get(event.path) ?? fileProgress(`hub: ${event.path}`, size, options.quiet ?? false);
        bars.set(event.path, bar);
        bar.update(Math.round(event.progress * size));
      }
    }
  } catch (err) {
    for (const bar of bars.values()) bar.stop();
    throw explainHubError(err, { ...context, errorCode: api.lastErrorCode() });
  }
}
