/**
 * A Hugging Face Hub on loopback, for tests: the HTTP endpoints @huggingface/hub calls to
 * download (model info, tree listing, paths-info, resolve with a redirect for LFS files
 * and the ETag headers the library reads) and to upload (repo create, preupload, the LFS
 * batch API with the "basic" transfer, the upload PUT, the NDJSON commit), backed by a
 * temporary folder. Error answers carry the Hub's X-Error-Code (RepoNotFound,
 * RevisionNotFound, EntryNotFound, GatedRepo). Every request is logged in `requests`.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

interface FileEntry {
  /** Git blob id of what git stores: the content, or the LFS pointer. */
  oid: string;
  size: number;
  /** sha256 of the content; where the bytes live in objects/. */
  sha256: string;
  lfs: boolean;
}
interface Commit {
  parent: string | null;
  title: string;
  date: string;
  files: Record<string, FileEntry>;
}
interface Repo {
  private: boolean;
  gated: boolean;
  branches: Record<string, string>;
  commits: Record<string, Commit>;
}

export const WRITE_TOKEN = "hf_loopback_write_token";
/** A token whose account accepted the gated repositories' conditions. */
export const GRANTED_TOKEN = "hf_loopback_granted_token";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const gitBlobId = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
// The Hub stores weights and anything big in LFS; text files in git.
const isLfs = (path: string, size: number) => /\.(safetensors|bin|onnx|pt|h5|msgpack)$/.test(path) || size > 10 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class LoopbackHub {
  readonly requests: string[] = [];
  /** File names whose resolve answers 404 EntryNotFound though the tree lists them (a file removed mid-download). */
  readonly missing = new Set<string>();
  url = "";
  private server = createServer((req, res) => void this.handle(req, res));
  private commitCounter = 0;

  constructor(readonly root: string) {
    mkdirSync(join(root, "objects"), { recursive: true });
    mkdirSync(join(root, "repos"), { recursive: true });
    // What the LFS batch API received: an object already here is not asked for again (the Hub deduplicates the same way).
    mkdirSync(join(root, "lfs"), { recursive: true });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Creates (or adds a commit to) a repository from a folder's top-level files; returns the commit. */
  addModel(name: string, dir: string, options: { private?: boolean; gated?: boolean; branch?: string } = {}): string {
    const repo = this.readRepo(name) ?? { private: options.private ?? false, gated: options.gated ?? false, branches: {}, commits: {} };
    const branch = options.branch ?? "main";
    const files: Record<string, FileEntry> = {};
    for (const f of readdirSync(dir)) if (statSync(join(dir, f)).isFile()) files[f] = this.store(f, readFileSync(join(dir, f)));
    const parent = repo.branches[branch] ?? null;
    const commit = this.newCommitId(parent);
    repo.commits[commit] = { parent, title: `add ${dir}`, date: new Date().toISOString(), files };
    repo.branches[branch] = commit;
    this.writeRepo(name, repo);
    return commit;
  }

  private store(path: string, bytes: Buffer): FileEntry {
    const sum = sha256(bytes);
    writeFileSync(join(this.root, "objects", sum), bytes);
    const lfs = isLfs(path, bytes.length);
    const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sum}\nsize ${bytes.length}\n`);
    return { oid: gitBlobId(lfs ? pointer : bytes), size: bytes.length, sha256: sum, lfs };
  }

  private newCommitId(parent: string | null): string {
    return createHash("sha1")
      .update(`${parent}:${Date.now()}:${this.commitCounter++}:${Math.random()}`)
      .digest("hex");
  }

  private repoFile(name: string) {
    return join(this.root, "repos", `${name.replace("/", "--")}.json`);
  }
  private readRepo(name: string): Repo | undefined {
    const f = this.repoFile(name);
    return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as Repo) : undefined;
  }
  private writeRepo(name: string, repo: Repo) {
    writeFileSync(this.repoFile(name), JSON.stringify(repo));
  }

  private token(req: IncomingMessage): string | undefined {
    return /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  }

  /** The repository, as the Hub shows it to this caller: a private one to a stranger does not exist (401, as the Hub answers). */
  private visibleRepo(req: IncomingMessage, name: string): Repo {
    const repo = this.readRepo(name);
    const token = this.token(req);
    if (!repo || (repo.private && token !== WRITE_TOKEN && token !== GRANTED_TOKEN)) throw new HttpError(401, "Repository Not Found", "RepoNotFound");
    return repo;
  }

  private commitOf(repo: Repo, revision: string): [string, Commit] {
    const id = repo.branches[revision] ?? (repo.commits[revision] ? revision : undefined);
    if (!id) throw new HttpError(404, `Invalid rev id: ${revision}`, "RevisionNotFound");
    return [id, repo.commits[id]!];
  }

  private entry(path: string, f: FileEntry, commit?: string) {
    return {
      type: "file",
      path,
      oid: f.oid,
      size: f.size,
      ...(f.lfs ? { lfs: { oid: f.sha256, size: f.size, pointerSize: 130 } } : {}),
      ...(commit ? { lastCommit: { id: commit, title: "commit", date: new Date().toISOString() } } : {}),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", this.url);
    this.requests.push(`${req.method} ${url.pathname}`);
    // Path segments before decoding: a revision such as refs%2Fpr%2F1 is one segment.
    const seg = url.pathname.split("/").slice(1).map(decodeURIComponent);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      const body = await readBody(req);
      if (seg[0] === "api" && seg[1] === "models" && seg.length >= 5) {
        const name = `${seg[2]}/${seg[3]}`;
        const [op, rev, ...rest] = seg.slice(4);
        if (op === "revision" && req.method === "GET") {
          const repo = this.visibleRepo(req, name);
          const [sha, commit] = this.commitOf(repo, rev ?? "main");
          return json(200, {
            _id: name,
            id: name,
            sha,
            private: repo.private,
            gated: repo.gated ? "auto" : false,
            downloads: 0,
            likes: 0,
            lastModified: commit.date,
            siblings: Object.keys(commit.files).map((rfilename) => ({ rfilename })),
          });
        }
        if (op === "tree" && req.method === "GET") {
          const [, commit] = this.commitOf(this.visibleRepo(req, name), rev ?? "main");
          const prefix = rest.join("/");
          return json(
            200,
            Object.entries(commit.files)
              .filter(([p]) => !prefix || p.startsWith(`${prefix}/`))
              .map(([p, f]) => this.entry(p, f)),
          );
        }
        if (op === "paths-info" && req.method === "POST") {
          const [sha, commit] = this.commitOf(this.visibleRepo(req, name), rev ?? "main");
          const paths = (JSON.parse(body.toString()) as { paths: string[] }).paths;
          return json(
            200,
            paths.flatMap((p) => (commit.files[p] ? [this.entry(p, commit.files[p]!, sha)] : [])),
          );
        }
        if (op === "preupload" && req.method === "POST") {
          this.requireWrite(req, name);
          const files = (JSON.parse(body.toString()) as { files: { path: string; size: number }[] }).files;
          return json(200, { files: files.map((f) => ({ path: f.path, uploadMode: isLfs(f.path, f.size) ? "lfs" : "regular", shouldIgnore: false })) });
        }
        if (op === "commit" && req.method === "POST") return json(200, this.commit(req, name, rev ?? "main", body));
      }
      if (seg[0] === "api" && seg[1] === "repos" && seg[2] === "create" && req.method === "POST") {
        if (this.token(req) !== WRITE_TOKEN) throw new HttpError(401, "Invalid credentials in Authorization header");
        const { name, organization } = JSON.parse(body.toString()) as { name: string; organization: string };
        const full = `${organization}/${name}`;
        if (this.readRepo(full)) throw new HttpError(409, "You already created this model repo");
        this.writeRepo(full, { private: false, gated: false, branches: {}, commits: {} });
        return json(200, { url: `${this.url}/${full}`, name: full });
      }
      if (seg[1]?.endsWith(".git") && seg.slice(2).join("/") === "info/lfs/objects/batch" && req.method === "POST") {
        this.requireWrite(req, `${seg[0]}/${seg[1].slice(0, -4)}`);
        const batch = JSON.parse(body.toString()) as { objects: { oid: string; size: number }[] };
        const objects = batch.objects.map((o) =>
          existsSync(join(this.root, "lfs", o.oid))
            ? { oid: o.oid, size: o.size }
            : { oid: o.oid, size: o.size, authenticated: true, actions: { upload: { href: `${this.url}/lfs-upload/${o.oid}`, expires_in: 3600 } } },
        );
        res.writeHead(200, { "content-type": "application/vnd.git-lfs+json" });
        return res.end(JSON.stringify({ transfer: "basic", objects }));
      }
      if (seg[0] === "lfs-upload" && req.method === "PUT") {
        if (sha256(body) !== seg[1]) throw new HttpError(400, "the uploaded bytes do not match their sha256");
        writeFileSync(join(this.root, "lfs", seg[1]!), body);
        return json(200, {});
      }
      // The "CDN" an LFS resolve redirects to: the bytes by sha256, Range requests answered.
      if (seg[0] === "lfs-objects" && (req.method === "GET" || req.method === "HEAD")) {
        const path = join(this.root, "objects", seg[1] ?? "");
        if (!existsSync(path)) throw new HttpError(404, "no such object");
        return sendBytes(req, res, readFileSync(path), { etag: `"${seg[1]}"` });
      }
      if (seg.length >= 5 && seg[2] === "resolve" && (req.method === "GET" || req.method === "HEAD")) {
        const name = `${seg[0]}/${seg[1]}`;
        const repo = this.visibleRepo(req, name);
        const [sha, commit] = this.commitOf(repo, seg[3]!);
        const path = seg.slice(4).join("/");
        const file = commit.files[path];
        if (!file || this.missing.has(path)) throw new HttpError(404, `Entry not found: ${path}`, "EntryNotFound");
        if (repo.gated) {
          const token = this.token(req);
          if (!token)
            throw new HttpError(401, `Access to model ${name} is restricted. You must have access to it and be authenticated to access it.`, "GatedRepo");
          if (token !== GRANTED_TOKEN && token !== WRITE_TOKEN)
            throw new HttpError(403, `Access to model ${name} is restricted and you are not in the authorized list.`, "GatedRepo");
        }
        const headers = {
          "x-repo-commit": sha,
          "x-linked-etag": `"${file.lfs ? file.sha256 : file.oid}"`,
          "x-linked-size": String(file.size),
          etag: `"${file.lfs ? file.sha256 : file.oid}"`,
        };
        if (file.lfs) {
          res.writeHead(302, { ...headers, location: `${this.url}/lfs-objects/${file.sha256}?filename=${encodeURIComponent(path)}` });
          return res.end();
        }
        return sendBytes(req, res, readFileSync(join(this.root, "objects", file.sha256)), headers);
      }
      throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
    } catch (err) {
      if (err instanceof HttpError) return json(err.status, { error: err.message }, err.code ? { "x-error-code": err.code } : {});
      json(500, { error: err instanceof Error ? err.message : String(err) });
    }
  }

  private requireWrite(req: IncomingMessage, name: string): Repo {
    if (this.token(req) !== WRITE_TOKEN) throw new HttpError(401, "Invalid credentials in Authorization header");
    const repo = this.readRepo(name);
    if (!repo) throw new HttpError(404, "Repository Not Found", "RepoNotFound");
    return repo;
  }

  /** The NDJSON commit: a header line, then file (base64), lfsFile (already uploaded) and deletedFile lines. */
  private commit(req: IncomingMessage, name: string, branch: string, body: Buffer) {
    const repo = this.requireWrite(req, name);
    const lines = body
      .toString()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> });
    const parent = repo.branches[branch] ?? null;
    const files: Record<string, FileEntry> = { ...(parent ? repo.commits[parent]!.files : {}) };
    let title = "";
    for (const { key, value } of lines) {
      if (key === "header") title = String(value.summary ?? "");
      else if (key === "file") files[String(value.path)] = this.store(String(value.path), Buffer.from(String(value.content), "base64"));
      else if (key === "lfsFile") {
        const object = join(this.root, "lfs", String(value.oid));
        if (!existsSync(object)) throw new HttpError(422, `LFS object ${String(value.oid)} was never uploaded`);
        files[String(value.path)] = this.store(String(value.path), readFileSync(object));
      } else if (key === "deletedFile") delete files[String(value.path)];
    }
    const commit = this.newCommitId(parent);
    repo.commits[commit] = { parent, title, date: new Date().toISOString(), files };
    repo.branches[branch] = commit;
    this.writeRepo(name, repo);
    return { success: true, commitOid: commit, commitUrl: `${this.url}/${name}/commit/${commit}` };
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** 200 with the bytes, or 206 with a slice for `Range: bytes=a-b` (the library probes with bytes=0-0). */
function sendBytes(req: IncomingMessage, res: ServerResponse, bytes: Buffer, headers: Record<string, string>) {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
  const base = { ...headers, "content-type": "application/octet-stream", "accept-ranges": "bytes" };
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
    res.writeHead(206, { ...base, "content-range": `bytes ${start}-${end}/${bytes.length}`, "content-length": String(end - start + 1) });
    return res.end(req.method === "HEAD" ? undefined : bytes.subarray(start, end + 1));
  }
  res.writeHead(200, { ...base, "content-length": String(bytes.length) });
  res.end(req.method === "HEAD" ? undefined : bytes);
}
