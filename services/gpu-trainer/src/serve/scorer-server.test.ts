import { Validator } from "@seriousme/openapi-schema-validator";
import { app as apiApp, MAX_SCORE_REQUEST_BYTES } from "@ranklab/api";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { generateReviews } from "../data/review-corpus.ts";
import { saveBertDir } from "../io/bert-dir.ts";
import { BertConfigSchema, bertParamSpecs } from "../models/bert.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { buildCharVocab } from "../tokenizer/build-vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { HotSwapScorer } from "./hot-swap-scorer.ts";
import { scorerApp, startScorerServer } from "./scorer-server.ts";

// The scorer's HTTP face: first with no checkpoint loaded, then on a tiny reward model
// (random weights; test/scoring-endpoint.test.ts scores with a trained one through the API).
const TOKEN = "scorer-token-0123456789";
const lines: string[] = [];
const app = scorerApp(new HotSwapScorer(), { token: TOKEN, log: (line) => lines.push(line) });
const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const post = (body: string, headers: Record<string, string> = auth) => app.request("/score", { method: "POST", headers, body });
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe("the scorer app", () => {
  it("says it is alive and that no checkpoint is loaded", async () => {
    const res = await app.request("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, checkpoint: null });
  });

  it("answers in the API's error shape: 401, 400 malformed/invalid, 413, 404, then 503 until a checkpoint is loaded", async () => {
    expect(await errorCode(await post(JSON.stringify({ texts: ["好"] }), { "content-type": "application/json" }))).toBe("unauthorized");
    const malformed = await post("{");
    expect([malformed.status, await errorCode(malformed)]).toEqual([400, "malformed_json"]);
    for (const body of [
      {},
      { texts: [] },
      { texts: [""] },
      { texts: Array(65).fill("a") },
      { texts: ["a"], prompts: ["p", "q"] },
      { texts: ["a"], extra: 1 },
    ]) {
      const res = await post(JSON.stringify(body));
      expect([res.status, await errorCode(res)], JSON.stringify(body)).toEqual([400, "invalid_request"]);
    }
    const tooBig = await post(JSON.stringify({ texts: ["a".repeat(MAX_SCORE_REQUEST_BYTES)] }));
    expect([tooBig.status, await errorCode(tooBig)]).toEqual([413, "payload_too_large"]);
    const elsewhere = await app.request("/scores", { method: "POST", headers: auth, body: "{}" });
    expect([elsewhere.status, await errorCode(elsewhere)]).toEqual([404, "not_found"]);
    const notYet = await post(JSON.stringify({ texts: ["质量很好"], prompts: ["质量"] }));
    expect([notYet.status, await errorCode(notYet)]).toEqual([503, "scoring_unavailable"]);
    expect(lines).toEqual([]); // none of these is unexpected
  });

  it("takes the largest request /v1/score accepts (64 texts and prompts of 2,000 control characters, ~1.5 MB as JSON)", async () => {
    const control = "\u0001".repeat(2000);
    const body = JSON.stringify({ texts: Array(64).fill(control), prompts: Array(64).fill(control) });
    expect(body.length).toBeGreaterThan(1 << 20);
    const res = await post(body);
    // Not 413: it reaches the scorer, which has no checkpoint loaded in this test.
    expect([res.status, await errorCode(res)]).toEqual([503, "scoring_unavailable"]);
  });

  it("serves OpenAPI 3.1 for every route, with the API's own /v1/score request schema", async () => {
    const spec = (await (await app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
    };
    const validator = new Validator();
    const result = await validator.validate(spec);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(Object.fromEntries(Object.entries(spec.paths).map(([path, ops]) => [path, Object.keys(ops)]))).toEqual({
      "/health": ["get"],
      "/openapi.json": ["get"],
      "/score": ["post"],
    });

    const api = (await (await apiApp.request("/openapi.json")).json()) as typeof spec;
    const schemaOf = (s: typeof spec, path: string) => s.paths[path]!.post!.requestBody!.content["application/json"]!.schema;
    expect(schemaOf(spec, "/score")).toEqual(schemaOf(api, "/v1/score"));
    expect(schemaOf(spec, "/score")).toMatchObject({ properties: { texts: { maxItems: 64 } }, required: ["texts"], additionalProperties: false });
  });
});

describe("the scorer on a loaded checkpoint", () => {
  const home = mkdtempSync(join(tmpdir(), "ranklab-scorer-"));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("answers one score per text and the checkpoint, over HTTP on @hono/node-server", async () => {
    await selectBackend("wasm");
    const texts = generateReviews(200, 3).map((r) => r.text);
    const vocab = buildCharVocab(texts, 2000);
    const config = BertConfigSchema.parse({
      vocab_size: vocab.tokens.length,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 64,
      num_labels: 1,
    });
    const model = { config, tokenizer: new WordPieceTokenizer(vocab), params: initParams(bertParamSpecs(config), 1) };
    saveBertDir(join(home, "rm"), model);
    disposeParams(model.params);

    // Nothing listens at apiUrl: the first sync fails, is logged, and the server still starts.
    const log: string[] = [];
    const server = await startScorerServer({
      port: 0,
      apiUrl: "http://127.0.0.1:9",
      apiToken: "unused",
      token: TOKEN,
      home,
      pollSeconds: 3600,
      log: (l) => log.push(l),
    });
    try {
      expect(log.join("\n")).toMatch(/checkpoint sync failed/);
      const ref = { id: 7, version: 2, sha256: "ab".repeat(32) };
      await server.scorer.swapTo(join(home, "rm"), ref);
      const res = await fetch(`${server.url}/score`, { method: "POST", headers: auth, body: JSON.stringify({ texts: texts.slice(0, 3) }) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { scores: number[]; normalizedScores: number[] | null; checkpoint: unknown };
      // This folder recorded no reward scale (no train_reward_mean/std in metrics.json): no normalised scores.
      expect(body.checkpoint).toEqual({ ...ref, rewardMean: null, rewardStd: null });
      expect(body.normalizedScores).toBeNull();
      expect(body.scores).toHaveLength(3);
      for (const s of body.scores) expect(Number.isFinite(s)).toBe(true);
      expect(new Set(body.scores).size).toBe(3); // different texts, different scores
      expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ ok: true, checkpoint: ref });
    } finally {
      await server.stop();
    }
    await expect(fetch(`${server.url}/health`)).rejects.toThrow(); // stopped means closed
  });
});
