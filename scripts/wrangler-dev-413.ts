/**
 * `npx tsx scripts/wrangler-dev-413.ts [trials]`: does the request after a refused
 * chunked upload fail under `wrangler dev`, with a Worker that has nothing of ranklab?
 *
 * Two minimal Workers run under wrangler dev on 127.0.0.1. Each answers a POST of a
 * chunked 5 MiB body with 413: "early" without reading the body (as Hono's bodyLimit
 * does once it has counted past the limit), "drained" after reading all of it. After
 * each refused upload, one GET follows on a fresh connection; the script counts the
 * GETs that got no answer or a 5xx. Then the same against the ranklab API (POST
 * /v1/prompts, whose body limit answers 413).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiDev, waitForHealth } from "./lib/api-dev.ts";
import { freePort } from "./lib/free-port.ts";
import { REPO_ROOT } from "./lib/local-env.ts";
import { ProcessGroup } from "./lib/processes.ts";

const trials = Number(process.argv[2] ?? 8);
const WORKERS = {
  early: `export default { async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/health") return new Response("ok");
    if (req.method === "POST") return new Response("too large", { status: 413 });
    return new Response("next ok");
  } };`,
  // As Hono's bodyLimit does: read past the limit, answer, leave the rest unread and the reader locked.
  partial: `export default { async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/health") return new Response("ok");
    if (req.method === "POST") {
      const reader = req.body.getReader();
      let size = 0;
      while (size <= 4 * 1024 * 1024) { const { done, value } = await reader.read(); if (done) break; size += value.byteLength; }
      return new Response("too large", { status: 413 });
    }
    return new Response("next ok");
  } };`,
  // The same, but the reader is cancelled before answering.
  cancelled: `export default { async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/health") return new Response("ok");
    if (req.method === "POST") {
      const reader = req.body.getReader();
      let size = 0;
      while (size <= 4 * 1024 * 1024) { const { done, value } = await reader.read(); if (done) break; size += value.byteLength; }
      await reader.cancel();
      return new Response("too large", { status: 413 });
    }
    return new Response("next ok");
  } };`,
  drained: `export default { async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/health") return new Response("ok");
    if (req.method === "POST") { await req.arrayBuffer(); return new Response("too large", { status: 413 }); }
    return new Response("next ok");
  } };`,
};

/** A 5 MiB body sent chunked (no Content-Length), 64 KiB at a time. */
function chunkedBody(): ReadableStream<Uint8Array> {
  let sent = 0;
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  return new ReadableStream({
    pull(controller) {
      if (sent >= 5 * 1024 * 1024) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

async function trial(url: string, upload = "/upload", headers: Record<string, string> = {}): Promise<string> {
  try {
    const res = await fetch(`${url}${upload}`, { method: "POST", headers, body: chunkedBody(), duplex: "half" } as RequestInit);
    await res.arrayBuffer();
  } catch {
    // The upload itself may be cut off once the 413 is sent; what matters is the next request.
  }
  try {
    const next = await fetch(`${url}${upload === "/upload" ? "/next" : "/health"}`, { signal: AbortSignal.timeout(10_000) });
    const text = await next.text();
    return next.status === 200 ? "ok" : `${next.status} ${text.slice(0, 80)}`;
  } catch (err) {
    return `no answer (${err instanceof Error ? err.message : String(err)})`;
  }
}

const group = new ProcessGroup(() => {});
const dir = mkdtempSync(join(tmpdir(), "ranklab-413-"));
try {
  for (const [name, source] of Object.entries(WORKERS)) {
    writeFileSync(join(dir, `${name}.js`), source);
    writeFileSync(join(dir, `${name}.toml`), `name = "probe-${name}"\nmain = "${name}.js"\ncompatibility_date = "2026-04-01"\n`);
    const port = await freePort();
    group.start(
      name,
      join(REPO_ROOT, "node_modules/.bin/wrangler"),
      ["dev", "-c", join(dir, `${name}.toml`), "--ip", "127.0.0.1", "--port", String(port), "--show-interactive-dev-session=false"],
      {
        cwd: dir,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_LOG_PATH: join(dir, "logs") },
      },
    );
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url);
    const results: string[] = [];
    for (let i = 0; i < trials; i++) results.push(await trial(url));
    const failed = results.filter((r) => r !== "ok");
    console.log(`413-probe: ${name}: ${failed.length} of ${trials} next requests failed${failed.length ? `: ${[...new Set(failed)].join("; ")}` : ""}`);
    await group.stop();
  }
  // The same against the API itself (its bodyLimit answers 413 once it has read past 4 MiB).
  process.env.RANKLAB_HOME = dir;
  const api = await startApiDev({ port: await freePort(), group });
  const results: string[] = [];
  for (let i = 0; i < trials; i++)
    results.push(await trial(api.url, "/v1/prompts", { authorization: `Bearer ${api.tokens.ADMIN_API_TOKEN}`, "content-type": "application/json" }));
  const failed = results.filter((r) => r !== "ok");
  console.log(`413-probe: ranklab API: ${failed.length} of ${trials} next requests failed${failed.length ? `: ${[...new Set(failed)].join("; ")}` : ""}`);
} finally {
  await group.stop();
  rmSync(dir, { recursive: true, force: true });
}
