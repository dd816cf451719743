import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { downloadCheckpointFile } from "./download.ts";

// A checkpoint file server that stops sending on purpose: the API (workerd) cannot be made
// to stall mid-file, and a stalled download is what must never hang the trainer or the scorer.
const archive = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) % 251));
const sha256 = createHash("sha256").update(archive).digest("hex");
const dirs: string[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Serves the archive; `answer(n, res, from)` decides what request n (0-based) gets. */
async function serve(answer: (n: number, res: ServerResponse, from: number) => void): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers.range ?? "whole");
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
    answer(requests.length - 1, res, from);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const sendFrom = (res: ServerResponse, from: number) => {
  res.writeHead(from > 0 ? 206 : 200, { "content-length": String(archive.length - from) });
  res.end(archive.subarray(from));
};

function tmp() {
  const dir = mkdtempSync(join(tmpdir(), "ranklab-download-"));
  dirs.push(dir);
  return join(dir, "archive.tar");
}

describe("checkpoint downloads with a deadline on silence", () => {
  it("cuts a download that stops sending and resumes it from the bytes on disk", async () => {
    const { url, requests } = await serve((n, res, from) => {
      if (n > 0) return sendFrom(res, from);
      // Half the file, then nothing more, with the connection left open.
      res.writeHead(200, { "content-length": String(archive.length) });
      res.write(archive.subarray(0, archive.length / 2));
    });
    const dest = tmp();
    const report = await downloadCheckpointFile(url, "token", { id: 1, sha256 }, dest, 300);
    expect(readFileSync(dest).equals(archive)).toBe(true);
    expect(report.resumedFrom).toBeGreaterThan(0);
    expect(requests).toEqual(["whole", `bytes=${report.resumedFrom}-`]);
  });

  it("gives up with an error naming the download when the server never answers", async () => {
    const { url, requests } = await serve(() => {});
    await expect(downloadCheckpointFile(url, "token", { id: 7, sha256 }, tmp(), 200)).rejects.toThrow(/downloading checkpoint 7: no bytes for 0.2 s/);
    expect(requests).toHaveLength(3);
  });
});
