import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import { UserError } from "../errors.ts";

/**
 * A checkpoint folder as one file for the API's checkpoint store: a plain POSIX ustar
 * archive of the folder's files (flat, regular files only), readable by `tar xf`.
 */
const BLOCK = 512;

function header(name: string, size: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const enc = new TextEncoder();
  const put = (text: string, offset: number, length: number) => h.set(enc.encode(text).subarray(0, length), offset);
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, "0") + "\0";
  if (enc.encode(name).length > 100) throw new Error(`tar: file name too long: ${name}`);
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put("        ", 148, 8); // checksum field counts as spaces while summing
  put("0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  const sum = h.reduce((a, b) => a + b, 0);
  put(octal(sum, 7) + " ", 148, 8);
  return h;
}

/** The folder's regular files, sorted by name, as a ustar archive. */
export function tarDir(dir: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const data = readFileSync(path);
    parts.push(header(name, data.length), data, new Uint8Array((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** One entry's header, read and checked: only plain file names, never a path that leaves the folder. */
function readHeader(h: Uint8Array, source: string, entry: number): { name: string; size: number; isFile: boolean } {
  const dec = new TextDecoder();
  const name = dec.decode(h.subarray(0, 100)).replace(/\0.*$/s, "");
  const size = parseInt(dec.decode(h.subarray(124, 136)).replace(/\0.*$/s, "").trim() || "0", 8);
  const type = String.fromCharCode(h[156]!);
  if (!Number.isFinite(size) || size < 0) throw new UserError(`${source}: not a valid tar archive (entry ${entry})`);
  if (name !== basename(name) || name === "" || name === "." || name === "..")
    throw new UserError(`${source}: refusing entry "${name}" (only plain file names)`);
  return { name, size, isFile: type === "0" || type === "\0" };
}

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/** Writes an archive made by tarDir into `dir`; refuses paths that would leave it. */
export function untarTo(bytes: Uint8Array, dir: string, source = "archive"): string[] {
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  let ended = false;
  for (let offset = 0; offset + BLOCK <= bytes.length; ) {
    const h = bytes.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) {
      ended = true;
      break;
    }
    const { name, size, isFile } = readHeader(h, source, names.length + 1);
    if (offset + BLOCK + size > bytes.length) throw new UserError(`${source}: not a valid tar archive (entry ${names.length + 1})`);
    if (isFile) {
      writeFileSync(join(dir, name), bytes.subarray(offset + BLOCK, offset + BLOCK + size));
      names.push(name);
    }
    offset += BLOCK + padded(size);
  }
  // A complete archive ends with zero blocks; a cut one does not.
  if (!ended) throw new UserError(`${source}: not a valid tar archive (truncated after ${names.length} file(s))`);
  return names;
}

/** Chunk for copying file contents in and out of archives on disk (a few MB: few syscalls, little memory). */
const COPY_CHUNK = 4 * 1024 * 1024;

/** Copies `length` bytes from `from` at `position` to the end of `to`, a chunk at a time; false when `from` ends first. */
function copyRange(from: number, position: number, length: number, to: number, buffer: Uint8Array): boolean {
  for (let done = 0; done < length; ) {
    const n = readSync(from, buffer, 0, Math.min(buffer.length, length - done), position + done);
    if (n === 0) return false;
    writeSync(to, buffer, 0, n);
    done += n;
  }
  return true;
}

/**
 * tarDir written straight to the file `path`, a chunk at a time, so a checkpoint of
 * several hundred MB is never held in memory. The same bytes as tarDir(dir).
 * @returns the archive's size in bytes
 */
export function tarDirToFile(dir: string, path: string): number {
  const out = openSync(path, "w");
  const buffer = new Uint8Array(COPY_CHUNK);
  let size = 0;
  try {
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      const stat = statSync(file);
      if (!stat.isFile()) continue;
      writeSync(out, header(name, stat.size));
      const from = openSync(file, "r");
      try {
        if (!copyRange(from, 0, stat.size, out, buffer)) throw new Error(`tar: ${file} shrank while it was archived`);
      } finally {
        closeSync(from);
      }
      const pad = padded(stat.size) - stat.size;
      if (pad > 0) writeSync(out, new Uint8Array(pad));
      size += BLOCK + padded(stat.size);
    }
    writeSync(out, new Uint8Array(BLOCK * 2));
    return size + BLOCK * 2;
  } finally {
    closeSync(out);
  }
}

/** untarTo for an archive on disk, read a chunk at a time: the archive is never held in memory. */
export function untarFile(path: string, dir: string, source = path): string[] {
  mkdirSync(dir, { recursive: true });
  const total = statSync(path).size;
  const input = openSync(path, "r");
  const h = new Uint8Array(BLOCK);
  const buffer = new Uint8Array(COPY_CHUNK);
  const names: string[] = [];
  let ended = false;
  try {
    for (let offset = 0; offset + BLOCK <= total; ) {
      if (readSync(input, h, 0, BLOCK, offset) < BLOCK) break;
      if (h.every((b) => b === 0)) {
        ended = true;
        break;
      }
      const { name, size, isFile } = readHeader(h, source, names.length + 1);
      if (offset + BLOCK + size > total) throw new UserError(`${source}: not a valid tar archive (entry ${names.length + 1})`);
      if (isFile) {
        const out = openSync(join(dir, name), "w");
        try {
          copyRange(input, offset + BLOCK, size, out, buffer);
        } finally {
          closeSync(out);
        }
        names.push(name);
      }
      offset += BLOCK + padded(size);
    }
  } finally {
    closeSync(input);
  }
  if (!ended) throw new UserError(`${source}: not a valid tar archive (truncated after ${names.length} file(s))`);
  return names;
}
