/** Runs `fn` `warmup` times, then repeatedly for at least `seconds`; milliseconds per call. */
export async function timeIt(fn: () => unknown | Promise<unknown>, { seconds = 2, warmup = 1, minRuns = 2 } = {}): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const start = performance.now();
  let runs = 0;
  while (runs < minRuns || performance.now() - start < seconds * 1000) {
    await fn();
    runs++;
  }
  return (performance.now() - start) / runs;
}

export const fmt = (v: number, digits = 1) => v.toFixed(digits);
