/**
 * Models by name (issue 23): `hf:owner/name` downloads through @huggingface/hub into the
 * standard Hugging Face cache, and `checkpoints push` uploads, against a Hub on loopback
 * (test/loopback-hub.ts), never the real one.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "@ranklab/gpu-trainer/backend/select-backend";
import { generateReviews } from "@ranklab/gpu-trainer/data/review-corpus";
import { pushModelDir } from "@ranklab/gpu-trainer/hub/push-model";
import { resolveModelDir } from "@ranklab/gpu-trainer/hub/resolve-model";
import { loadBertDir, saveBertDir } from "@ranklab/gpu-trainer/io/bert-dir";
import { saveGpt2Dir } from "@ranklab/gpu-trainer/io/gpt2-dir";
import { BertConfigSchema, bertParamSpecs } from "@ranklab/gpu-trainer/models/bert";
import { Gpt2ConfigSchema, gpt2ParamSpecs } from "@ranklab/gpu-trainer/models/gpt2";
import { disposeParams, initParams } from "@ranklab/gpu-trainer/models/params";
import { buildCharVocab } from "@ranklab/gpu-trainer/tokenizer/build-vocab";
import { WordPieceTokenizer } from "@ranklab/gpu-trainer/tokenizer/wordpiece";
import { GRANTED_TOKEN, LoopbackHub, WRITE_TOKEN } from "./loopback-hub.ts";

const ROOT = resolve(import.meta.dirname, "..");
const TSX = join(ROOT, "node_modules/.bin/tsx");
const MAIN = join(ROOT, "services/gpu-trainer/src/cli/main.ts");
const tmp = mkdtempSync(join(tmpdir(), "ranklab-hub-"));
const gpt2Dir = join(tmp, "src", "tiny-gpt2");
const bertDir = join(tmp, "src", "tiny-bert");
let hub: LoopbackHub;
let gpt2Commit: string;

/** The Hub settings a test runs with: its own cache, the loopback Hub, no token, online. */
function hubEnv(cache: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { HF_HOME: join(tmp, cache), HF_ENDPOINT: hub.url, ...extra };
}

/** The real CLI in a child process (async: the loopback Hub answers from this process). */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HF_")));
  return new Promise((done) => {
    execFile(TSX, [MAIN, ...args], { env: { ...clean, ...env }, timeout: 120_000, encoding: "utf8" }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A port nothing listens on: "no network". */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  await selectBackend("wasm");
  hub = await new LoopbackHub(join(tmp, "hub")).start();
  const texts = generateReviews(100, 5).map((r) => r.text);
  const vocab = buildCharVocab(texts, 1500);
  const tokenizer = new WordPieceTokenizer(vocab);
  const gpt2Config = Gpt2ConfigSchema.parse({ vocab_size: vocab.tokens.length, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 });
  const gpt2 = { config: gpt2Config, params: initParams(gpt2ParamSpecs(gpt2Config, false), 3), tokenizer, hasValueHead: false };
  saveGpt2Dir(gpt2Dir, gpt2);
  disposeParams(gpt2.params);
  // A mean-pooled reward model: written as ranklab_bert, the case whose model card must say how transformers loads it.
  const bertConfig = BertConfigSchema.parse({
    vocab_size: vocab.tokens.length,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 64,
    num_labels: 1,
    classifier_pooling: "mean",
  });
  const bert = { config: bertConfig, params: initParams(bertParamSpecs(bertConfig), 4), tokenizer };
  saveBertDir(bertDir, bert, {
    "metrics.json": { accuracy: 0.71, margin: 0.4, mean_reward: 0.1, step: 30, train_reward_mean: 0.2, train_reward_std: 1.3 },
    "run.json": { train: ["data/rank_train.tsv"], dev: "data/rank_dev.tsv", epochs: 3 },
  });
  disposeParams(bert.params);

  // The GPT-2 repository also carries files a model does not need; they must not be fetched.
  const withExtras = join(tmp, "src", "gpt2-with-extras");
  cpSync(gpt2Dir, withExtras, { recursive: true });
  writeFileSync(join(withExtras, "flax_model.msgpack"), Buffer.alloc(4096, 1));
  writeFileSync(join(withExtras, "pytorch_model.bin"), Buffer.alloc(4096, 2));
  gpt2Commit = hub.addModel("ranklab-test/tiny-gpt2", withExtras);
  hub.addModel("ranklab-test/tiny-bert", bertDir);
  hub.addModel("ranklab-test/gated-bert", bertDir, { gated: true });
  hub.addModel("ranklab-test/private-bert", bertDir, { private: true });
  const noWeights = join(tmp, "src", "no-weights");
  mkdirSync(noWeights, { recursive: true });
  for (const f of ["config.json", "vocab.txt"]) cpSync(join(bertDir, f), join(noWeights, f));
  hub.addModel("ranklab-test/no-weights", noWeights);
}, 120_000);

afterAll(async () => {
  await hub?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("hf: model names, downloaded through @huggingface/hub", () => {
  it("downloads a tiny GPT-2 and BERT into the standard cache and uses them in generate and reward score, as their folders", async () => {
    const env = hubEnv("cache-a");
    const prompt = "这家";
    const fromHub = await cli(["generate", "--model", "hf:ranklab-test/tiny-gpt2", "--max-new-tokens", "6", "--seed", "7", prompt], env);
    expect(fromHub.code, fromHub.stderr).toBe(0);
    const fromDir = await cli(["generate", "--model", gpt2Dir, "--max-new-tokens", "6", "--seed", "7", prompt], env);
    expect(fromDir.code, fromDir.stderr).toBe(0);
    expect(fromHub.stdout).toBe(fromDir.stdout);
    expect(fromHub.stdout.startsWith(prompt)).toBe(true);
    // One line per file on stderr (not a terminal); stdout is the samples alone.
    expect(fromHub.stderr).toMatch(/hub: hf:ranklab-test\/tiny-gpt2 is commit [0-9a-f]{12}/);
    expect(fromHub.stderr).toMatch(/hub: model\.safetensors \d/);

    const texts = ["质量很好，物流很快", "太差了，不推荐"];
    const scoredHub = await cli(["reward", "score", "--model", "hf:ranklab-test/tiny-bert", ...texts], env);
    expect(scoredHub.code, scoredHub.stderr).toBe(0);
    const scoredDir = await cli(["reward", "score", "--model", bertDir, ...texts], env);
    expect(scoredHub.stdout).toBe(scoredDir.stdout);
    expect(scoredHub.stdout.trim().split("\n")).toHaveLength(2);

    // The layout Python's huggingface_hub writes: refs/main → commit, snapshot files linked to blobs/ by content hash.
    const storage = join(tmp, "cache-a", "hub", "models--ranklab-test--tiny-gpt2");
    expect(readFileSync(join(storage, "refs", "main"), "utf8")).toBe(gpt2Commit);
    const weights = join(storage, "snapshots", gpt2Commit, "model.safetensors");
    expect(lstatSync(weights).isSymbolicLink()).toBe(true);
    expect(readlinkSync(weights)).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
    expect(readFileSync(weights).equals(readFileSync(join(gpt2Dir, "model.safetensors")))).toBe(true);
    // Only what a model needs: not the other weights the repository carries.
    expect(existsSync(join(storage, "snapshots", gpt2Commit, "pytorch_model.bin"))).toBe(false);
    expect(existsSync(join(storage, "snapshots", gpt2Commit, "flax_model.msgpack"))).toBe(false);
    expect(hub.requests.some((r) => r.includes("flax_model") || r.includes("pytorch_model"))).toBe(false);
  }, 240_000);

  it("finds the cache on a second call without a request, and uses it offline", async () => {
    const env = hubEnv("cache-b");
    const first = await resolveModelDir("hf:ranklab-test/tiny-bert", { env, quiet: true });
    const before = hub.requests.length;
    expect(await resolveModelDir("hf:ranklab-test/tiny-bert", { env, quiet: true })).toBe(first);
    expect(await resolveModelDir("hf:ranklab-test/tiny-bert@main", { env: { ...env, HF_HUB_OFFLINE: "1" }, quiet: true })).toBe(first);
    expect(hub.requests.length).toBe(before);
    // A pinned commit is its own snapshot: no request either.
    const commit = first.split("/").pop()!;
    expect(await resolveModelDir(`hf:ranklab-test/tiny-bert@${commit}`, { env, quiet: true })).toBe(first);
    expect(hub.requests.length).toBe(before);
    // A folder is a folder: passed through untouched.
    expect(await resolveModelDir(bertDir, { env })).toBe(bertDir);
  });

  it("offline, a model not in the cache is an error that says so, and nothing is asked", async () => {
    const before = hub.requests.length;
    await expect(resolveModelDir("hf:ranklab-test/tiny-gpt2", { env: hubEnv("cache-c", { HF_HUB_OFFLINE: "1" }), quiet: true })).rejects.toThrow(
      /HF_HUB_OFFLINE is set and ranklab-test\/tiny-gpt2@main is not in the cache/,
    );
    expect(hub.requests.length).toBe(before);
  });

  it("uses a folder Python's huggingface_hub wrote (written here by hand) as it is, with no network", async () => {
    const storage = join(tmp, "python-home", "hub", "models--someone--handmade");
    const commit = "0123456789abcdef0123456789abcdef01234567";
    mkdirSync(join(storage, "blobs"), { recursive: true });
    mkdirSync(join(storage, "refs"), { recursive: true });
    mkdirSync(join(storage, "snapshots", commit), { recursive: true });
    writeFileSync(join(storage, "refs", "main"), commit);
    for (const f of ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"]) {
      const blob = `blob-of-${f}`; // Python names blobs by ETag; any name works, the snapshot links to it
      cpSync(join(bertDir, f), join(storage, "blobs", blob));
      symlinkSync(join("..", "..", "blobs", blob), join(storage, "snapshots", commit, f));
    }
    const env = { HF_HOME: join(tmp, "python-home"), HF_ENDPOINT: `http://127.0.0.1:${await closedPort()}` };
    const dir = await resolveModelDir("hf:someone/handmade", { env, quiet: true });
    expect(dir).toBe(join(storage, "snapshots", commit));
    expect(await resolveModelDir(`hf:someone/handmade@${commit}`, { env, quiet: true })).toBe(dir);
    expect(loadBertDir(dir).config.hidden_size).toBe(16);
  });

  it("explains each failure: unknown, private, gated, missing files, a bad revision, no network, a bad name", async () => {
    const env = hubEnv("cache-errors");
    const resolveIn = (ref: string, extra: Record<string, string> = {}) => resolveModelDir(ref, { env: { ...env, ...extra }, quiet: true });
    await expect(resolveIn("hf:ranklab-test/nope")).rejects.toThrow(
      /no model repository ranklab-test\/nope on http:\/\/127\.0\.0\.1:\d+ \(if it is private, set HF_TOKEN\)/,
    );
    await expect(resolveIn("hf:ranklab-test/private-bert")).rejects.toThrow(/no model repository ranklab-test\/private-bert .*set HF_TOKEN/);
    expect(await resolveIn("hf:ranklab-test/private-bert", { HF_TOKEN: GRANTED_TOKEN })).toMatch(/models--ranklab-test--private-bert/);
    await expect(resolveIn("hf:ranklab-test/gated-bert")).rejects.toThrow(
      /ranklab-test\/gated-bert is gated or forbidden \(401\); accept its conditions at .*set HF_TOKEN/,
    );
    await expect(resolveIn("hf:ranklab-test/gated-bert", { HF_TOKEN: "hf_someone_else" })).rejects.toThrow(
      /gated or forbidden \(403\).*HF_TOKEN is set, but its account has no access/,
    );
    expect(await resolveIn("hf:ranklab-test/gated-bert", { HF_TOKEN: GRANTED_TOKEN })).toMatch(/models--ranklab-test--gated-bert/);
    await expect(resolveIn("hf:ranklab-test/no-weights")).rejects.toThrow(
      /hf:ranklab-test\/no-weights: the repository has no model\.safetensors or pytorch_model\.bin/,
    );
    // A file listed but gone when fetched (the Hub's EntryNotFound).
    hub.missing.add("vocab.txt");
    try {
      await expect(resolveIn("hf:ranklab-test/tiny-bert", { HF_HOME: join(tmp, "cache-missing") })).rejects.toThrow(
        /vocab\.txt is missing from ranklab-test\/tiny-bert at main/,
      );
    } finally {
      hub.missing.clear();
    }
    await expect(resolveIn("hf:ranklab-test/tiny-bert@v9")).rejects.toThrow(/revision "v9" does not exist in ranklab-test\/tiny-bert/);
    const port = await closedPort();
    await expect(resolveIn("hf:ranklab-test/tiny-bert", { HF_ENDPOINT: `http://127.0.0.1:${port}` })).rejects.toThrow(
      /cannot reach the Hub at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); if the model is already in the cache .* set HF_HUB_OFFLINE=1/,
    );
    // A server that accepts and never answers: the request's deadline (HF_HUB_ETAG_TIMEOUT) ends it.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
      await expect(resolveIn("hf:ranklab-test/tiny-bert", { HF_ENDPOINT: url, HF_HUB_ETAG_TIMEOUT: "1" })).rejects.toThrow(
        /cannot reach the Hub at .* sent no response in 1 s\); .*HF_HUB_OFFLINE=1/,
      );
    } finally {
      silent.close();
    }
    await expect(resolveIn("hf:just-a-name")).rejects.toThrow(/hf:owner\/name\[@revision\]/);
    // Through the CLI: status 2 and the message alone.
    const r = await cli(["reward", "score", "--model", "hf:ranklab-test/nope", "好"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: hf:ranklab-test\/nope: no model repository/m);
  }, 120_000);
});

describe("checkpoints push", () => {
  it("uploads a model folder with a model card, and pulling it back gives the same bytes", async () => {
    const env = hubEnv("cache-push", { HF_TOKEN: WRITE_TOKEN });
    const r = await cli(["checkpoints", "push", bertDir, "--repo", "ranklab-test/pushed-rm"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ranklab-test\/pushed-rm [0-9a-f]{40}\n$/);
    // The library's commit path: preupload, the LFS batch API and a PUT for the weights, then the NDJSON commit.
    const calls = hub.requests.join("\n");
    expect(calls).toMatch(/POST \/api\/repos\/create/);
    expect(calls).toMatch(/POST \/api\/models\/ranklab-test\/pushed-rm\/preupload\/main/);
    expect(calls).toMatch(/POST \/ranklab-test\/pushed-rm\.git\/info\/lfs\/objects\/batch/);
    expect(calls).toMatch(/PUT \/lfs-upload\/[0-9a-f]{64}/);
    expect(calls).toMatch(/POST \/api\/models\/ranklab-test\/pushed-rm\/commit\/main/);

    const pulled = await resolveModelDir("hf:ranklab-test/pushed-rm", { env: hubEnv("cache-pull"), quiet: true });
    for (const f of ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "metrics.json"]) {
      expect(readFileSync(join(pulled, f)).equals(readFileSync(join(bertDir, f))), f).toBe(true);
    }
    // The card and the loading code are in the repository (fetched here as a user of the Hub would).
    const card = await (await fetch(`${hub.url}/ranklab-test/pushed-rm/resolve/main/README.md`)).text();
    expect(card).toMatch(/A reward model/);
    expect(card).toMatch(/mean-pooled/);
    expect(card).toMatch(/ranklab_bert\.py/);
    expect(card).toMatch(/\| accuracy \| 0\.7100 \|/);
    expect(card).toMatch(/rank_train\.tsv/);
    const py = await fetch(`${hub.url}/ranklab-test/pushed-rm/resolve/main/ranklab_bert.py`);
    expect(py.status).toBe(200);
    expect(await py.text()).toMatch(/class RanklabBertForSequenceClassification/);

    // A second push to the same repository adds a commit (409 on create is not an error).
    const again = await pushModelDir(gpt2Dir, "ranklab-test/pushed-rm", { env, quiet: true });
    expect(again.commit).toMatch(/^[0-9a-f]{40}$/);
  }, 120_000);

  it("refuses without HF_TOKEN, or with a token the Hub refuses", async () => {
    await expect(pushModelDir(bertDir, "ranklab-test/x", { env: hubEnv("cache-x"), quiet: true })).rejects.toThrow(/checkpoints push needs HF_TOKEN/);
    await expect(pushModelDir(bertDir, "ranklab-test/x", { env: hubEnv("cache-x", { HF_TOKEN: "hf_not_a_writer" }), quiet: true })).rejects.toThrow(
      /refused the request \(401 unauthorised\)/,
    );
    await expect(pushModelDir(join(tmp, "nowhere"), "ranklab-test/x", { env: hubEnv("cache-x", { HF_TOKEN: WRITE_TOKEN }) })).rejects.toThrow(
      /no config\.json/,
    );
  });
});
