import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { fetchActiveCheckpoint } from "../checkpoints/fetch.ts";
import { trainerApi } from "../ranklab-api.ts";
import { HotSwapScorer } from "./hot-swap-scorer.ts";
import { asItems } from "../reward/score-tfjs.ts";

/** What POST /score takes: the API's /v1/score forwards its validated body here. */
export const ScoreRequestSchema = z
  .object({
    texts: z.array(z.string().min(1).max(2000)).min(1).max(64),
    prompts: z.array(z.string().max(2000)).optional(),
  })
  .strict()
  .refine((b) => !b.prompts || b.prompts.length === b.texts.length, { message: "prompts must have one entry per text", path: ["prompts"] });

export interface ScorerServerOptions {
  port: number;
  apiUrl: string;
  /** A token the API accepts for reading checkpoints (any role). */
  apiToken: string;
  /** Bearer token callers must send (the API's SCORER_TOKEN); none: open on loopback. */
  token?: string;
  home: string;
  pollSeconds: number;
  log?: (line: string) => void;
}

async function readBody(req: IncomingMessage, limit = 1 << 20): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error(`body over ${limit} bytes`), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The reward scorer: POST /score answers reward-model scores from the API's active
 * reward checkpoint on onnxruntime-node; it polls the API and hot-swaps to a newly
 * activated checkpoint. GET /health says which checkpoint is loaded.
 */
export async function startScorerServer(options: ScorerServerOptions): Promise<{ url: string; scorer: HotSwapScorer; syncNow(): Promise<void>; stop(): Promise<void> }> {
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

  const json = (res: import("node:http").ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const server: Server = createServer(async (req, res) => {
    try {
      if (req.method === "GET" && req.url === "/health") return json(res, 200, { ok: true, checkpoint: scorer.checkpoint ?? null });
      if (req.method !== "POST" || req.url !== "/score") return json(res, 404, { error: { code: "not_found", message: "POST /score or GET /health" } });
      if (options.token && req.headers.authorization !== `Bearer ${options.token}`) return json(res, 401, { error: { code: "unauthorized", message: "missing or wrong bearer token" } });
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (err) {
        const status = (err as { status?: number }).status ?? 400;
        return json(res, status, { error: { code: status === 413 ? "payload_too_large" : "malformed_json", message: err instanceof Error ? err.message : "bad body" } });
      }
      const parsed = ScoreRequestSchema.safeParse(body);
      if (!parsed.success) return json(res, 400, { error: { code: "invalid_request", message: "invalid score request", issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) } });
      const result = await scorer.score(asItems(parsed.data.texts, parsed.data.prompts));
      if (!result) return json(res, 503, { error: { code: "no_checkpoint", message: "no reward checkpoint is active yet" } });
      return json(res, 200, result);
    } catch (err) {
      log(`scorer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return json(res, 500, { error: { code: "internal", message: "scoring failed" } });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await scorer.close();
    },
  };
}
