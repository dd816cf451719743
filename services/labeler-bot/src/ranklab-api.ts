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

/** What the bot reads of a reply; the reply itself is hc's ClientResponse, whose json() the route types. */
type Reply = { ok: boolean; status: number; text(): Promise<string> };

/** What the bot asks of the API, on the typed client; every failure is ApiUnavailable or ApiRefused. */
/** How long one API call may take before the rater is told to try again (a stuck call must not freeze the chat). */
export const API_CALL_TIMEOUT_MS = 15_000;

const fetchWithTimeout: typeof fetch = (input, init) => fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(API_CALL_TIMEOUT_MS) });

export function ranklabApi(url: string, token: string) {
  const api = createApiClient(url, token, fetchWithTimeout);
  /** Sends a request, classifying failures; the reply is returned for the caller to read. */
  const send = async <R extends Reply>(what: string, request: () => Promise<R>): Promise<R> => {
    let res: R;
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
  // Each body is read from the reply itself, so its type is the one the route declares (hc's ClientResponse).
  return {
    registerRater: async (externalId: string, displayName?: string) =>
      (await send("registering the rater", () => api.v1.raters.$post({ json: { externalId, ...(displayName ? { displayName } : {}) } }))).json(),
    findRater: async (externalId: string) => {
      try {
        return await (await send("finding the rater", () => api.v1.raters["by-external"][":externalId"].$get({ param: { externalId } }))).json();
      } catch (err) {
        if (err instanceof ApiRefused && err.status === 404) return undefined;
        throw err;
      }
    },
    nextTask: async (raterId: number, exclude: number[]) =>
      (
        await send("fetching the next task", () =>
          api.v1.tasks.next.$get({ query: { raterId: String(raterId), ...(exclude.length > 0 ? { exclude: exclude.slice(-100).join(",") } : {}) } }),
        )
      ).json(),
    score: async (raterId: number, completionId: number, value: number) =>
      (await send("storing the score", () => api.v1.scores.$post({ json: { raterId, completionId, value, source: "telegram" } }))).json(),
    /** Best first; `levels` (dense ranks, 0 best) mark ties: equal levels are equally good. */
    rank: async (raterId: number, promptId: number, completionIds: number[], levels?: number[]) =>
      (
        await send("storing the ranking", () =>
          api.v1.rankings.$post({ json: { raterId, promptId, completionIds, ...(levels ? { levels } : {}), source: "telegram" } }),
        )
      ).json(),
    /** Blocks or unblocks `raterId` on behalf of `byRaterId`, whom the API requires to be an admin (403 otherwise, 409 for oneself). */
    setBlocked: async (raterId: number, blocked: boolean, byRaterId: number) =>
      (
        await send(blocked ? "blocking the rater" : "unblocking the rater", () =>
          api.v1.raters[":id"].blocked.$put({ param: { id: String(raterId) }, json: { blocked, byRaterId } }),
        )
      ).json(),
    stats: async (raterId: number) => (await send("fetching stats", () => api.v1.stats.raters[":id"].$get({ param: { id: String(raterId) } }))).json(),
    /** The rank-list TSV (text, not JSON). */
    exportTsv: async () => (await send("exporting", () => api.v1.exports["rankings.tsv"].$get({ query: {} }))).text(),
    session: {
      get: async (key: string) => {
        try {
          return (await (await send("reading the session", () => api.v1["bot-sessions"][":key"].$get({ param: { key } }))).json()).value;
        } catch (err) {
          if (err instanceof ApiRefused && err.status === 404) return undefined;
          throw err;
        }
      },
      set: async (key: string, value: unknown) =>
        (await send("saving the session", () => api.v1["bot-sessions"][":key"].$put({ param: { key }, json: { value } }))).json(),
      delete: async (key: string) => (await send("deleting the session", () => api.v1["bot-sessions"][":key"].$delete({ param: { key } }))).json(),
    },
  };
}

export type RanklabApi = ReturnType<typeof ranklabApi>;
