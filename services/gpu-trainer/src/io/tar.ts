import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
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

/** Writes an archive made by tarDir into `dir`; refuses paths that would leave it. */
export function untarTo(bytes: Uint8Array, dir: string, source = "archive"): string[] {
  mkdirSync(dir, { recursive: true });
  const dec = new TextDecoder();
  const names: string[] = [];
  let ended = false;
  for (let offset = 0; offset + BLOCK <= bytes.length; ) {
    const h = bytes.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) {
      ended = true;
      break;
    }
    const name = dec.decode(h.subarray(0, 100)).replace(/\0.*$/s, "");
    const size = parseInt(dec.decode(h.subarray(124, 136)).replace(/\0.*$/s, "").trim() || "0", 8);
    const type = String.fromCharCode(h[156]!);
    if (!Number.isFinite(size) || size < 0 || offset + BLOCK + size > bytes.length) throw new UserError(`${source}: not a valid tar archive (entry ${names.length + 1})`);
    if (name !== basename(name) || name === "" || name === "." || name === "..") throw new UserError(`${source}: refusing entry "${name}" (only plain file names)`);
    if (type === "0" || type === "\0") {
      writeFileSync(join(dir, name), bytes.subarray(offset + BLOCK, offset + BLOCK + size));
      names.push(name);
    }
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  // A complete archive ends with zero blocks; a cut one does not.
  if (!ended) throw new UserError(`${source}: not a valid tar archive (truncated after ${names.length} file(s))`);
  return names;
}
