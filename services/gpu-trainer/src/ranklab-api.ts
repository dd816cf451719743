import { createApiClient } from "@ranklab/api/client";
import { downloadCheckpointFile } from "./checkpoints/download.ts";
import { uploadCheckpointArchive, type ArchiveSource } from "./checkpoints/upload.ts";
import { isTimeout } from "./util/deadline.ts";

/** The API answered with an error (4xx/5xx): names the call and carries the status and the API's message. */

/** Reads a cursor-paged list page by page until its last page, or until `enough` says the pages read so far suffice. */
async function allPages<P extends { nextCursor: number | null }>(
  page: (cursor: number | null) => Promise<P>,
  enough: (pages: P[]) => boolean = () => false,
): Promise<P[]> {
  const pages: P[] = [];
  let cursor: number | null = null;
  do {
    const next: P = await page(cursor);
    pages.push(next);
    cursor = next.nextCursor;
  } while (cursor && !enough(pages));
  return pages;
}
export class ApiCallError extends Error {
  override name = "ApiCallError";
  constructor(
    what: string,
    readonly status: number,
    body: string,
  ) {
    super(`${what}: ${status} ${body}`);
  }
}

type Reply = { ok: boolean; status: number; text(): Promise<string>; json(): Promise<unknown> };

/** The body of a successful reply, typed by the route (hc's response type); an error reply throws ApiCallError. */
async function data<R extends Reply>(what: string, request: Promise<R>): Promise<Awaited<ReturnType<R["json"]>>> {
  let res: R;
  try {
    res = await request;
  } catch (err) {
    throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    if (!res.ok) throw new ApiCallError(what, res.status, await res.text());
    return (await res.json()) as Awaited<ReturnType<R["json"]>>;
  } catch (err) {
    if (err instanceof ApiCallError) throw err;
    // The deadline (API_CALL_TIMEOUT_MS) covers the body too: an answer that stops half-way ends here.
    throw new Error(
      `${what}: the answer broke off (${isTimeout(err) ? `not whole within ${API_CALL_TIMEOUT_MS / 1000} s` : err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
}

/** Undefined for a 404 (e.g. no active checkpoint yet), the body otherwise. */
async function orNone<R extends Reply>(what: string, request: Promise<R>): Promise<Awaited<ReturnType<R["json"]>> | undefined> {
  try {
    return await data(what, request);
  } catch (err) {
    if (err instanceof ApiCallError && err.status === 404) return undefined;
    throw err;
  }
}

import type { CheckpointKind } from "@ranklab/api";

export type { CheckpointKind };

/** A request the API may safely receive twice: reads, and checkpoint publishing (keyed by sha256) and activation. */
const idempotent = (method: string, url: string) => method === "GET" || /\/v1\/checkpoints(\/\d+\/(activate|file))?$/.test(new URL(url).pathname);

/**
 * How long one API call may take, its whole answer included. The API answers in well
 * under a second; without a deadline, one request the local server never answers (seen
 * under load with wrangler dev) would stop a training run for ever, without a word.
 */
export const API_CALL_TIMEOUT_MS = 60_000;

/**
 * fetch with a deadline (API_CALL_TIMEOUT_MS for the whole exchange), once more (after
 * 200 ms, then 1 s) when the connection dropped or no answer came in time and the request
 * is idempotent. A keep-alive socket the server closed as the client reused it ("other
 * side closed") is the usual cause under load; a lost answer to a non-idempotent call
 * (claim, lease, ack) is not retried but reported, naming the call and the deadline.
 */
export const retryingFetch: typeof fetch = async (input, init) => {
  const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  const url = input instanceof Request ? input.url : String(input);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(API_CALL_TIMEOUT_MS) });
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      const dropped = code === "UND_ERR_SOCKET" || code === "ECONNRESET";
      const late = !init?.signal && isTimeout(err);
      const where = `${method} ${new URL(url).pathname}`;
      if ((!dropped && !late) || attempt >= 2 || !idempotent(method, url) || init?.body instanceof ReadableStream) {
        if (late) throw new Error(`${where}: no answer within ${API_CALL_TIMEOUT_MS / 1000} s`, { cause: err });
        throw err;
      }
      if (late) console.warn(`trainer: ${where}: no answer within ${API_CALL_TIMEOUT_MS / 1000} s; asking again`);
      await new Promise((r) => setTimeout(r, attempt === 0 ? 200 : 1000));
    }
  }
};

/**
 * The trainer's side of the API on the typed client (`hc<AppType>`): runs, leases, the
 * label history, prompts, completions and checkpoints. Every failure names the call.
 * Only the checkpoint upload's parts go as raw requests (binary bodies the typed
 * client does not describe; see checkpoints/upload.ts).
 */
export function trainerApi(apiUrl: string, token: string) {
  const api = createApiClient(apiUrl, token, retryingFetch);
  return {
    claimRun: (trainer: string) => data("claiming a run", api.v1["training-runs"].claim.$post({ json: { trainer } })),
    runningRuns: () => data("listing running runs", api.v1["training-runs"].$get({ query: { status: "running" } })),
    requeueRun: (id: number) =>
      data(`re-queueing run ${id}`, api.v1["training-runs"][":id"].$patch({ param: { id: String(id) }, json: { status: "requested" } })),
    finishRun: (id: number, result: { status: "succeeded" | "failed"; metrics?: Record<string, number>; summary?: string; error?: string }) =>
      data(
        `finishing run ${id}`,
        api.v1["training-runs"][":id"].$patch({
          param: { id: String(id) },
          json: {
            status: result.status,
            ...(result.metrics ? { metrics: result.metrics } : {}),
            ...(result.summary ? { summary: result.summary.slice(0, 2000) } : {}),
            ...(result.error ? { error: result.error.slice(0, 4000) } : {}),
          },
        }),
      ),

    lease: (holder: string, limit: number, ttlSeconds: number) => data("leasing labels", api.v1.leases.$post({ json: { holder, limit, ttlSeconds } })),
    /** Keeps the labels while a long phase runs: the lease then lasts only as long as the trainer does. */
    extendLease: (id: string, ttlSeconds: number) => data("extending the lease", api.v1.leases[":id"].extend.$post({ param: { id }, json: { ttlSeconds } })),
    /** Marks the labels the run used as trained and gives the lease's other labels back, with the reason. */
    ackLease: (id: string, used: { rankingIds: number[]; scoreIds: number[] }, releaseReason: string) =>
      data("acknowledging the lease", api.v1.leases[":id"].ack.$post({ param: { id }, json: { ...used, releaseReason } })),
    releaseLease: (id: string, reason: string) =>
      data("releasing the lease", api.v1.leases[":id"].release.$post({ param: { id }, json: { reason: reason.slice(0, 500) } })),

    /** Every trained label, and those `leaseId` holds: the whole history a run learns from, page by page. */
    async labelHistory(leaseId?: string) {
      const page = (kind: "ranking" | "score", cursor: number | null) =>
        data(
          `reading the ${kind} history`,
          api.v1.labels.$get({ query: { kind, limit: "500", ...(leaseId ? { lease: leaseId } : {}), ...(cursor ? { cursor: String(cursor) } : {}) } }),
        );
      const [rankingPages, scorePages] = await Promise.all([allPages((cursor) => page("ranking", cursor)), allPages((cursor) => page("score", cursor))]);
      return { rankings: rankingPages.flatMap((p) => p.rankings ?? []), scores: scorePages.flatMap((p) => p.scores ?? []) };
    },

    /** Every gold group (a group whose true order an admin knows), oldest first: evidence with known truth for rater reliability. */
    async goldGroups() {
      const page = (cursor: number | null) =>
        data("reading the gold groups", api.v1["gold-groups"].$get({ query: { limit: "500", ...(cursor ? { cursor: String(cursor) } : {}) } }));
      return (await allPages(page)).flatMap((p) => p.items);
    },

    /** A prompt's completions, newest first, at most `max` (pages of 200, the API's limit). */
    async completionsOf(promptId: number, max = 1000) {
      const page = (cursor: number | null) =>
        data(
          `listing the completions of prompt ${promptId}`,
          api.v1.completions.$get({ query: { promptId: String(promptId), limit: "200", ...(cursor ? { cursor: String(cursor) } : {}) } }),
        );
      const pages = await allPages(page, (read) => read.reduce((n, p) => n + p.items.length, 0) >= max);
      return pages.flatMap((p) => p.items).slice(0, max);
    },
    /** A live reward checkpoint's rewards for completions (the API picks rank tasks where they lie closest), 500 a request. */
    async postCompletionRewards(checkpointId: number, rewards: { completionId: number; reward: number }[]) {
      for (let i = 0; i < rewards.length; i += 500) {
        await data(
          `posting completion rewards of checkpoint ${checkpointId}`,
          api.v1.checkpoints[":id"]["completion-rewards"].$post({ param: { id: String(checkpointId) }, json: { rewards: rewards.slice(i, i + 500) } }),
        );
      }
    },
    activePrompts: async () => (await data("listing prompts", api.v1.prompts.$get({ query: { limit: "200" } }))).items.filter((p) => p.active),
    postCompletions: (
      checkpointId: number | null,
      generation: Record<string, string | number | boolean | null>,
      completions: { promptId: number; text: string }[],
    ) => data("posting completions", api.v1.completions.$post({ json: { checkpointId, generation, completions } })),

    activeCheckpoint: (kind: CheckpointKind) => orNone(`the active ${kind} checkpoint`, api.v1.checkpoints.active[":kind"].$get({ param: { kind } })),
    referenceCheckpoint: (kind: CheckpointKind) => orNone(`the reference ${kind} checkpoint`, api.v1.checkpoints.reference[":kind"].$get({ param: { kind } })),
    checkpoints: (kind: CheckpointKind) => data(`listing ${kind} checkpoints`, api.v1.checkpoints.$get({ query: { kind } })),
    /** The archive of a ready checkpoint, as bytes: held in memory, so for small ones; downloadCheckpointTo streams to disk. */
    async downloadCheckpoint(id: number): Promise<Uint8Array> {
      const res = await api.v1.checkpoints[":id"].file.$get({ param: { id: String(id) } });
      if (!res.ok) throw new ApiCallError(`downloading checkpoint ${id}`, res.status, await res.text());
      try {
        return new Uint8Array(await res.arrayBuffer());
      } catch (err) {
        throw new Error(
          `downloading checkpoint ${id}: the file broke off (${isTimeout(err) ? `not whole within ${API_CALL_TIMEOUT_MS / 1000} s` : err instanceof Error ? err.message : String(err)})`,
          { cause: err },
        );
      }
    },
    /** The archive of a ready checkpoint streamed to `dest` and checked against its sha256, resuming a download cut short. */
    downloadCheckpointTo: (checkpoint: { id: number; sha256: string }, dest: string) => downloadCheckpointFile(apiUrl, token, checkpoint, dest),
    recordCheckpoint: (record: {
      kind: CheckpointKind;
      sha256: string;
      sizeBytes: number;
      metrics: Record<string, number>;
      config: Record<string, unknown>;
      trainingRunId?: number | undefined;
      rejectedReason?: string | undefined;
    }) =>
      data(
        "publishing the checkpoint",
        api.v1.checkpoints.$post({
          json: {
            ...record,
            ...(record.trainingRunId ? { trainingRunId: record.trainingRunId } : {}),
            ...(record.rejectedReason ? { rejectedReason: record.rejectedReason.slice(0, 1000) } : {}),
          },
        }),
      ),
    /** The archive itself (a file's path, or its bytes), in parts under Cloudflare's body limit, resuming an upload cut short. */
    uploadCheckpoint: (id: number, archive: ArchiveSource) => uploadCheckpointArchive(apiUrl, token, id, archive),
    activateCheckpoint: (id: number) => data(`activating checkpoint ${id}`, api.v1.checkpoints[":id"].activate.$post({ param: { id: String(id) } })),
  };
}

export type TrainerApi = ReturnType<typeof trainerApi>;
