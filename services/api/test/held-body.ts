/**
 * A request body that stops part-way until the test lets it go: how a test holds an
 * upload "in flight" inside the Worker while other requests run beside it.
 * `reached` resolves once `holdAt` bytes have been taken by the reader (the Worker's
 * handler, which reads only after its checks passed); `release()` sends the rest.
 */
export function heldBody(bytes: Uint8Array, holdAt: number, chunk = 256 * 1024) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const reachedHold = new Promise<void>((resolve) => (reached = resolve));
  let at = 0;
  const source = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (at >= holdAt) {
        reached();
        await released;
      }
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
  // A FixedLengthStream so the Worker sees a Content-Length, as a client's upload has.
  const fixed = new FixedLengthStream(bytes.byteLength);
  void source.pipeTo(fixed.writable).catch(() => {});
  return { body: fixed.readable, reached: reachedHold, release };
}
