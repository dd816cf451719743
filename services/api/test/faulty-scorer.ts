import { MAX_SCORE_REQUEST_BYTES } from "../src/lib/score-limits.ts";

/**
 * A scorer that answers wrongly on purpose, for the tests of /v1/score's answer check:
 * the Worker's outbound fetches go here (vitest.config.ts, `outboundService`). The real
 * scorer (services/gpu-trainer) cannot be made to answer 1 score for 2 texts, so this
 * stands in for a broken or hostile one. `SCORER_URL=http://scorer.test/<scenario>`.
 */
const SHA = "a".repeat(64);
const checkpoint = { id: 1, version: 1, sha256: SHA };

const json = (body: string) => new Response(body, { headers: { "content-type": "application/json" } });

/** Headers, the first bytes of a good answer, then `then`: the socket breaking, or nothing ever again. */
function brokenOff(then: "error" | "stall"): Response {
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(new TextEncoder().encode('{"scores":[0.5'));
        return;
      }
      if (then === "error") controller.error(new Error("connection reset by the test scorer"));
      return new Promise<void>(() => {}); // a stall: never another byte
    },
  });
  // A declared length the body never reaches: the Worker sees the answer cut short, as from a closed socket.
  return new Response(body, { headers: { "content-type": "application/json", "content-length": "4096" } });
}

/** Scenario name → the answer's body for `n` texts. */
const SCENARIOS: Record<string, (n: number) => Response> = {
  good: (n) => json(JSON.stringify({ scores: Array.from({ length: n }, (_, i) => i / 10), checkpoint })),
  // With the checkpoint's scale: normalised scores beside the raw ones.
  scaled: (n) =>
    json(
      JSON.stringify({
        scores: Array.from({ length: n }, (_, i) => i / 10),
        normalizedScores: Array.from({ length: n }, (_, i) => (i / 10 - 0.1) / 2),
        checkpoint: { ...checkpoint, rewardMean: 0.1, rewardStd: 2 },
      }),
    ),
  "short-normalized": (n) =>
    json(JSON.stringify({ scores: Array.from({ length: n }, () => 0.5), normalizedScores: [0], checkpoint: { ...checkpoint, rewardMean: 0, rewardStd: 1 } })),
  short: (n) => json(JSON.stringify({ scores: Array.from({ length: n - 1 }, () => 0.5), checkpoint })),
  long: (n) => json(JSON.stringify({ scores: Array.from({ length: n + 1 }, () => 0.5), checkpoint })),
  // 1e999 is valid JSON and parses to Infinity.
  infinite: (n) => json(`{"scores":[${Array.from({ length: n }, () => "1e999").join(",")}],"checkpoint":${JSON.stringify(checkpoint)}}`),
  strings: (n) => json(JSON.stringify({ scores: Array.from({ length: n }, () => "0.5"), checkpoint })),
  "not-json": () => json("scores: 1"),
  "breaks-off": () => brokenOff("error"),
  stalls: () => brokenOff("stall"),
  // Two million numbers (~4 MB), streamed without a Content-Length, as the probe's answer was.
  huge: () => {
    const encoder = new TextEncoder();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(encoder.encode('{"scores":[0'));
        if (sent >= 2_000_000) {
          controller.enqueue(encoder.encode(`],"checkpoint":${JSON.stringify(checkpoint)}}`));
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(",0.5".repeat(10_000)));
        sent += 10_000;
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  },
};

export async function faultyScorer(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const [, scenario, route] = url.pathname.split("/");
  const answer = url.hostname === "scorer.test" && route === "score" ? SCENARIOS[scenario ?? ""] : undefined;
  if (!answer) return new Response(`no test scorer at ${request.url}`, { status: 404 });
  // The real scorer's body limit (services/gpu-trainer/src/serve/scorer-server.ts).
  const body = await request.arrayBuffer();
  if (body.byteLength > MAX_SCORE_REQUEST_BYTES)
    return new Response(JSON.stringify({ error: { code: "payload_too_large", message: `${body.byteLength} bytes` } }), { status: 413 });
  const { texts } = JSON.parse(new TextDecoder().decode(body)) as { texts: string[] };
  return answer(texts.length);
}
