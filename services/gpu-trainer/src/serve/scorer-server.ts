import { serve, type ServerType } from "@hono/node-server";
import {
  ApiError,
  MAX_SCORE_REQUEST_BYTES,
  onError,
  onNotFound,
  openApiDocument,
  scoreAnswer,
  scoreRequest,
  validate,
  type OpenApiDocument,
  type OpenApiOptions,
} from "@ranklab/api";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { AddressInfo } from "node:net";
import { fetchActiveCheckpoint } from "../checkpoints/fetch.ts";
import { trainerApi } from "../ranklab-api.ts";
import { HotSwapScorer } from "./hot-swap-scorer.ts";
import { asItems } from "../reward-model/score-tfjs.ts";

/** Request bodies above this are refused before they are read: the largest valid /v1/score request, as the Worker forwards it. */
const MAX_BODY_BYTES = MAX_SCORE_REQUEST_BYTES;

export interface ScorerServerOptions {
  port: number;
  /** The address to listen on: loopback by default; the container listens on 0.0.0.0 (SCORER_HOST). */
  hostname?: string;
  apiUrl: string;
  /** A token the API accepts for reading checkpoints (any role). */
  apiToken: string;
  /** Bearer token callers must send (the API's SCORER_TOKEN); none: open on loopback. */
  token?: string;
  home: string;
  pollSeconds: number;
  log?: (line: string) => void;
}

/**
 * The scorer's HTTP face, a Hono app: POST /score takes what the API's /v1/score takes
 * (the same zod schema, from @ranklab/api) and answers in the API's error shape;
 * GET /health says which checkpoint is loaded; GET /openapi.json describes both.
 */
export function scorerApp(scorer: Pick<HotSwapScorer, "score" | "checkpoint">, options: { token?: string | undefined; log: (line: string) => void }) {
  let openApi: OpenApiDocument | undefined;
  const openApiJson = (): OpenApiDocument => (openApi ??= openApiDocument(app, SCORER_DOCS(options.token !== undefined)));
  const app = new Hono()
    .onError((err, c) => {
      // Expected failures answer in the API's shape; anything else is logged here, behind a generic 500.
      if (err instanceof HTTPException) return onError(err, c);
      options.log(`scorer: ${err.stack ?? err.message}`);
      return c.json({ error: { code: "internal", message: "scoring failed" } }, 500);
    })
    .notFound(onNotFound)
    .get("/health", (c) => c.json({ ok: true, checkpoint: scorer.checkpoint ?? null }))
    .get("/openapi.json", (c) => c.json(openApiJson()))
    .post(
      "/score",
      async (c, next) => {
        if (options.token && c.req.header("authorization") !== `Bearer ${options.token}`)
          throw new ApiError(401, "unauthorized", "missing or wrong bearer token");
        await next();
      },
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: () => {
          throw new ApiError(413, "payload_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`);
        },
      }),
      validate("json", scoreRequest),
      async (c) => {
        const { texts, prompts } = c.req.valid("json");
        const result = await scorer.score(asItems(texts, prompts));
        if (!result) throw new ApiError(503, "scoring_unavailable", "no reward checkpoint is active yet");
        return c.json({
          scores: result.scores,
          normalizedScores: result.normalizedScores,
          checkpoint: {
            id: result.checkpoint.id,
            version: result.checkpoint.version,
            sha256: result.checkpoint.sha256,
            rewardMean: result.scale?.mean ?? null,
            rewardStd: result.scale?.std ?? null,
          },
        });
      },
    );
  return app;
}

const SCORER_DOCS = (withToken: boolean): OpenApiOptions => ({
  info: {
    title: "ranklab scorer",
    version: "1",
    description: "Reward-model scores from the API's active reward checkpoint, on onnxruntime-node. The API's /v1/score forwards here.",
  },
  securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "the API's SCORER_TOKEN" } },
  security: (path: string) => (withToken && path === "/score" ? [{ bearer: [] }] : undefined),
  docs: {
    "POST /score": {
      summary: "Score texts with the loaded reward checkpoint",
      answer: {
        status: 200,
        description: "One score per text (higher is better), and the checkpoint that gave them; 503 until one is loaded",
        schema: scoreAnswer,
      },
    },
    "GET /health": { summary: "Liveness, and the loaded checkpoint" },
    "GET /openapi.json": { summary: "This document" },
  },
});

/**
 * The reward scorer: POST /score answers reward-model scores from the API's active
 * reward checkpoint on onnxruntime-node; it polls the API and hot-swaps to a newly
 * activated checkpoint. GET /health says which checkpoint is loaded.
 */
export async function startScorerServer(
  options: ScorerServerOptions,
): Promise<{ url: string; scorer: HotSwapScorer; syncNow(): Promise<void>; stop(): Promise<void> }> {
  const log = options.log ?? ((line: string) => console.log(line));
  const scorer = new HotSwapScorer();
  const api = trainerApi(options.apiUrl, options.apiToken);
  let syncing: Promise<void> | undefined;
  const syncNow = () =>
    (syncing ??= (async () => {
      try {
        const active = await fetchActiveCheckpoint(api, "reward", options.home);
        if (active && active.ref.id !== scorer.checkpoint?.id) {
          await scorer.swapTo(active.dir, active.ref);
          log(`scorer: now serving reward checkpoint v${active.ref.version} (id ${active.ref.id}, sha256 ${active.ref.sha256.slice(0, 12)}…)`);
        }
      } catch (err) {
        log(`scorer: checkpoint sync failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        syncing = undefined;
      }
    })());

  const app = scorerApp(scorer, { token: options.token, log });
  const hostname = options.hostname ?? "127.0.0.1";
  const { server, port } = await new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port, hostname }, (info: AddressInfo) => resolve({ server, port: info.port }));
    server.once("error", reject); // e.g. the port is taken
  });
  const url = `http://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname}:${port}`;
  await syncNow();
  const timer = setInterval(() => void syncNow(), options.pollSeconds * 1000);
  timer.unref();
  log(`scorer: listening on ${url}, polling ${options.apiUrl} every ${options.pollSeconds} s`);
  return {
    url,
    scorer,
    syncNow,
    async stop() {
      clearInterval(timer);
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      await scorer.close();
    },
  };
}
