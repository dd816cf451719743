import { HubApiError } from "@huggingface/hub";
import { UserError } from "../errors.ts";
import { HubTimeoutError } from "./hub-fetch.ts";
import type { HubSettings } from "./hub-settings.ts";

export interface HubErrorContext {
  /** What the user wrote (hf:owner/name@rev) or the repository pushed to. */
  what: string;
  repo: string;
  revision: string;
  /** The file being fetched, when the failure is about one. */
  file?: string;
  /** The Hub's X-Error-Code for the failed response (hub-fetch.ts). */
  errorCode: string | undefined;
  settings: HubSettings;
}

/** Node's fetch and the library report a lost connection in several shapes; all of them mean "no network". */
function networkReason(err: unknown): string | undefined {
  if (err instanceof HubTimeoutError) return err.message;
  if (typeof err === "string") return err;
  if (!(err instanceof Error)) return undefined;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (err.name === "AbortError" || err.name === "TimeoutError") return err.message;
  if (err instanceof TypeError && err.message === "fetch failed") return cause?.code ?? cause?.message ?? err.message;
  if (cause instanceof HubTimeoutError) return cause.message;
  return undefined;
}

/**
 * A Hub failure as a message that names the model and the fix: unknown repository,
 * private or gated (401/403), a missing file, a revision that does not exist, or no
 * network (with the offline hint). Anything else keeps its own message, with the model named.
 */
export function explainHubError(err: unknown, ctx: HubErrorContext): Error {
  if (err instanceof UserError) return err;
  const { what, repo, revision, settings } = ctx;
  const page = `${settings.endpoint}/${repo}`;
  const tokenHint = settings.token ? "HF_TOKEN is set, but its account has no access" : "set HF_TOKEN to an access token of an account that has access";
  // The library turns a file's 404 EntryNotFound into a null ("invalid response for file …"), not an HubApiError.
  if (ctx.errorCode === "EntryNotFound") return new UserError(`${what}: ${ctx.file ?? "a file"} is missing from ${repo} at ${revision}`);
  if (err instanceof HubApiError) {
    const code = ctx.errorCode;
    if (code === "RevisionNotFound" || (err.statusCode === 404 && /revision/i.test(err.message))) {
      return new UserError(`${what}: revision "${revision}" does not exist in ${repo} (give a branch, a tag or a commit of ${page})`);
    }
    if (code === "EntryNotFound" || (err.statusCode === 404 && ctx.file && code !== "RepoNotFound")) {
      return new UserError(`${what}: ${ctx.file ?? "a file"} is missing from ${repo} at ${revision}`);
    }
    if (code === "GatedRepo" || err.statusCode === 403) {
      return new UserError(`${what}: ${repo} is gated or forbidden (${err.statusCode}); accept its conditions at ${page} and ${tokenHint}`);
    }
    if (code === "RepoNotFound" || err.statusCode === 404) {
      return new UserError(`${what}: no model repository ${repo} on ${settings.endpoint}${settings.token ? "" : " (if it is private, set HF_TOKEN)"}`);
    }
    if (err.statusCode === 401) return new UserError(`${what}: ${settings.endpoint} refused the request (401 unauthorised); ${tokenHint}`);
    return new UserError(`${what}: the Hub at ${settings.endpoint} answered ${err.statusCode}: ${err.message}`);
  }
  const reason = networkReason(err);
  if (reason !== undefined) {
    return new UserError(
      `${what}: cannot reach the Hub at ${settings.endpoint} (${reason}); if the model is already in the cache (${settings.cacheDir}), set HF_HUB_OFFLINE=1 to use it without the network`,
    );
  }
  if (err instanceof TypeError && /access token/i.test(err.message)) return new UserError(`HF_TOKEN: ${err.message}`);
  return new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
