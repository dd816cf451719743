/**
 * `items.map(fn)` with at most `limit` calls in flight, results in order. For requests to
 * the API: one per prompt at once (200 sockets) is a burst that a loaded local server
 * (wrangler dev) answers slowly or drops, where a few at a time finish as quickly.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
