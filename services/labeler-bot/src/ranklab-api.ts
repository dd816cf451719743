import { createApiClient } from "@ranklab/api/client";

/** The API could not be reached or failed (5xx): the rater is asked to try again; nothing is stored. */
export class ApiUnavailable extends Error {
  override name = "ApiUnavailable";
}

/** The API refused the request (4xx other than the ones a caller handles). */
export class ApiRefused extends Error {
  override name = "ApiRefused";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Task =
  | { kind: "score"; prompt: { id: number; text: string }; completion: { id: number; text: string } }
  | { kind: "rank"; prompt: { id: number; text: string }; completions: { id: number; text: string }[] };

/** What the bot asks of the API, on the typed client; every failure is ApiUnavailable or ApiRefused. */
export function ranklabApi(url: string, token: string) {
  const api = createApiClient(url, token);
  type Reply = { ok: boolean; status: number; text(): Promise<string>; json(): Promise<unknown> };
  /** Sends a request, classifying failures; the reply is returned for the caller to read. */
  const send = async (what: string, request: () => Promise<Reply>): Promise<Reply> => {
    let res;
    try {
      res = await request();
    } catch {
      // One retry for network errors: a pooled keep-alive connection the server has just
      // closed fails at once. Every call here is idempotent (labels are, by the API's design).
      await new Promise((r) => setTimeout(r, 200));
      try {
        res = await request();
      } catch (err) {
        const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
        throw new ApiUnavailable(`${what}: ${err instanceof Error ? err.message : String(err)}${cause}`);
      }
    }
    if (res.status >= 500) throw new ApiUnavailable(`${what}: ${res.status} ${await res.text()}`);
    if (!res.ok) throw new ApiRefused(res.status, `${what}: ${res.status} ${await res.text()}`);
    return res;
  };
  const call = async <T>(what: string, request: () => Promise<Reply>): Promise<T> => (await (await send(what, request)).json()) as T;
  return {
    registerRater: (externalId: string, displayName?: string) =>
      call<{ id: number; blocked: boolean }>("registering the rater", () => api.v1.raters.$post({ json: { externalId, ...(displayName ? { displayName } : {}) } })),
    findRater: async (externalId: string) => {
      try {
        return await call<{ id: number; blocked: boolean }>("finding the rater", () => api.v1.raters["by-external"][":externalId"].$get({ param: { externalId } }));
      } catch (err) {
        if (err instanceof ApiRefused && err.status === 404) return undefined;
        throw err;
      }
    },
    nextTask: (raterId: number, exclude: number[]) =>
      call<{ task: Task | null }>("fetching the next task", () =>
        api.v1.tasks.next.$get({ query: { raterId: String(raterId), ...(exclude.length > 0 ? { exclude: exclude.slice(-100).join(",") } : {}) } }),
      ),
    score: (raterId: number, completionId: number, value: number) =>
      call<{ created: boolean }>("storing the score", () => api.v1.scores.$post({ json: { raterId, completionId, value, source: "telegram" } })),
    /** Best first; `levels` (dense ranks, 0 best) mark ties: equal levels are equally good. */
    rank: (raterId: number, promptId: number, completionIds: number[], levels?: number[]) =>
      call<{ created: boolean; ranking: { id: number } }>("storing the ranking", () =>
        api.v1.rankings.$post({ json: { raterId, promptId, completionIds, ...(levels ? { levels } : {}), source: "telegram" } }),
      ),
    stats: (raterId: number) =>
      call<{ scores: number; rankings: number; agreement: { scoreMeanAbsDiff: number | null; scorePairs: number; rankKendallTau: number | null; rankPairs: number } }>("fetching stats", () =>
        api.v1.stats.raters[":id"].$get({ param: { id: String(raterId) } }),
      ),
    /** The rank-list TSV (text, not JSON). */
    exportTsv: async () => (await send("exporting", () => api.v1.exports["rankings.tsv"].$get({ query: {} }))).text(),
    session: {
      get: async (key: string) => {
        try {
          return (await call<{ value: unknown }>("reading the session", () => api.v1["bot-sessions"][":key"].$get({ param: { key } }))).value;
        } catch (err) {
          if (err instanceof ApiRefused && err.status === 404) return undefined;
          throw err;
        }
      },
      set: (key: string, value: unknown) => call("saving the session", () => api.v1["bot-sessions"][":key"].$put({ param: { key }, json: { value } })),
      delete: (key: string) => call("deleting the session", () => api.v1["bot-sessions"][":key"].$delete({ param: { key } })),
    },
  };
}

export type RanklabApi = ReturnType<typeof ranklabApi>;
