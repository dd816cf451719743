/** Lowercase hex of a digest. */
export const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Hands `body` to `store` as a stream of exactly `length` bytes while hashing it, so a
 * large upload is never held in memory: the sha256 comes back with what `store` returned.
 * Each chunk is hashed on its way through (not on a tee'd branch, which would queue
 * what the slower reader has not taken yet: up to a whole part, against the Worker's
 * 128 MB). A body of another length makes the FixedLengthStream, and so `store`, fail.
 */
export async function storeHashed<T>(
  body: ReadableStream<Uint8Array>,
  length: number,
  store: (sized: ReadableStream<Uint8Array>) => Promise<T>,
): Promise<{ stored: T; sha256: string }> {
  const digest = new crypto.DigestStream("SHA-256");
  const hash = digest.getWriter();
  const hashing = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      await hash.write(chunk);
      controller.enqueue(chunk);
    },
    flush: () => hash.close(),
  });
  const stored = await store(body.pipeThrough(hashing).pipeThrough(new FixedLengthStream(length)));
  return { stored, sha256: hex(await digest.digest) };
}

/** The sha256 of a stream (an R2 object read back), without holding it. */
export async function sha256OfStream(body: ReadableStream<Uint8Array>): Promise<string> {
  const digest = new crypto.DigestStream("SHA-256");
  await body.pipeTo(digest);
  return hex(await digest.digest);
}
