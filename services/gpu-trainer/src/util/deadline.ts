/**
 * Deadlines for the trainer's and the scorer's network calls: nothing they send may wait
 * forever (a lost answer from the API, a download that stops sending bytes), so a daemon
 * never stops training without a word.
 */

/** True for the error fetch throws when its AbortSignal.timeout fired. */
export const isTimeout = (err: unknown) =>
  err instanceof Error && (err.name === "TimeoutError" || (err.cause instanceof Error && err.cause.name === "TimeoutError"));

/**
 * An AbortSignal that fires when `ms` pass without `touch()`: a deadline for a stream
 * (a checkpoint download) that is alive as long as bytes keep coming, however large it is.
 * `stop()` clears the timer once the stream has ended.
 */
export function stallSignal(ms: number, what: string): { signal: AbortSignal; touch(): void; stop(): void } {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new StalledError(`${what}: no bytes for ${ms / 1000} s`)), ms);
    timer.unref?.();
  };
  touch();
  return { signal: controller.signal, touch, stop: () => clearTimeout(timer) };
}

export class StalledError extends Error {
  override name = "StalledError";
}

/** fetch with a deadline for the whole exchange (answer and body), unless the caller brought its own signal. */
export const fetchWithin =
  (ms: number): typeof fetch =>
  (input, init) =>
    fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(ms) });
