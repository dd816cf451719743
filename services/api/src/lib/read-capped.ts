/**
 * Reads a stream into one buffer, stopping once more than `maxBytes` have arrived: then
 * `bytes` is undefined and `reader` is left open at that point, for the caller to cancel
 * (a scorer's oversized answer) or to drain (a refused request body, see body-limit.ts).
 */
export async function readCapped(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<{ bytes: Uint8Array | undefined; size: number; reader: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) return { bytes: undefined, size, reader };
    parts.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return { bytes, size, reader };
}

/**
 * Reads and drops what is left of a stream until it ends or `maxBytes` more have gone by,
 * then cancels it (a no-op once ended): a body the Worker answers without reading must be
 * read before the answer, or workerd resets the connection and the client never sees it.
 */
export async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<void> {
  for (let read = 0; read <= maxBytes; ) {
    const { done, value } = await reader.read();
    if (done) return;
    read += value.byteLength;
  }
  await reader.cancel();
}
