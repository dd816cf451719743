/**
 * The fetch that @huggingface/hub is given: every request gets a deadline, the Hub's
 * X-Error-Code is kept for the error message, and a file's bytes are counted for its
 * progress bar. It changes no request: the library still decides what to ask.
 */

/** A request that passed its deadline; errors.ts reports it as "cannot reach the Hub". */
export class HubTimeoutError extends Error {
  override name = "HubTimeoutError";
}

export interface HubFetchOptions {
  /** Milliseconds to wait for a response's headers (plus the time an upload's body needs, see below). */
  headersTimeoutMs: number;
  /** Milliseconds a response body may go without a byte. */
  stallTimeoutMs: number;
  /** Called as a file's bytes arrive (a `resolve` download, not the Hub's JSON API). */
  onFileBytes?: (received: number, total: number) => void;
}

export interface HubFetch {
  fetch: typeof fetch;
  /** The X-Error-Code of the last failed response (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo). */
  lastErrorCode(): string | undefined;
}

// An upload's headers come after its body: allow it at least 1 MB/s on top of the deadline.
const UPLOAD_BYTES_PER_MS = 1000;

function bodySize(body: unknown): number {
  if (body instanceof Blob) return body.size;
  if (typeof body === "string") return body.length;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
  return 0;
}

function requestUrl(input: Parameters<typeof fetch>[0]): string {
  return typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
}

/** Whether this request downloads a file's content (not the JSON API, not the 1-byte probe the library sends first). */
function isFileDownload(url: string, init: RequestInit | undefined): boolean {
  if ((init?.method ?? "GET") !== "GET" || new URL(url).pathname.includes("/api/")) return false;
  const range = new Headers(init?.headers).get("range");
  return range !== "bytes=0-0";
}

export function hubFetch(options: HubFetchOptions): HubFetch {
  let errorCode: string | undefined;
  const wrapped = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const url = requestUrl(input);
    const controller = new AbortController();
    const signal = init?.signal ? AbortSignal.any([controller.signal, init.signal]) : controller.signal;
    const headersMs = options.headersTimeoutMs + bodySize(init?.body) / UPLOAD_BYTES_PER_MS;
    const timeout = (what: string, ms: number) => new HubTimeoutError(`${new URL(url).origin} sent ${what} in ${(ms / 1000).toFixed(0)} s`);
    const headersTimer = setTimeout(() => controller.abort(timeout("no response", headersMs)), headersMs);
    headersTimer.unref();
    let res: Response;
    try {
      res = await fetch(input, { ...init, signal });
    } catch (err) {
      throw controller.signal.aborted ? controller.signal.reason : err;
    } finally {
      clearTimeout(headersTimer);
    }
    errorCode = res.ok ? undefined : (res.headers.get("x-error-code") ?? undefined);
    if (!res.body) return res;
    // The body: abandoned when no byte arrives for stallTimeoutMs (a whole-download deadline would fail big files).
    const counting = res.ok && isFileDownload(url, init) ? options.onFileBytes : undefined;
    const total = Number(res.headers.get("content-length") ?? Number.NaN);
    let received = 0;
    let stall: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(stall);
      stall = setTimeout(() => controller.abort(timeout("no data", options.stallTimeoutMs)), options.stallTimeoutMs);
      stall.unref();
    };
    arm();
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          arm();
          received += chunk.byteLength;
          counting?.(received, total);
          out.enqueue(chunk);
        },
        flush() {
          clearTimeout(stall);
        },
      }),
    );
    const out = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    // The library reads response.url (same-origin redirects, error messages); a new Response has none.
    Object.defineProperty(out, "url", { value: res.url });
    return out;
  };
  return { fetch: wrapped as typeof fetch, lastErrorCode: () => errorCode };
}
