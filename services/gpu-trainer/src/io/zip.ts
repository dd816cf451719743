import { inflateRawSync } from "node:zlib";
import { UserError } from "../errors.ts";

/**
 * A read-only zip archive, from its central directory: the container `torch.save`
 * writes (`<name>/data.pkl`, `<name>/data/0`, … as stored, uncompressed records, each
 * 64-byte aligned), zip64 included for checkpoints over 4 GB. Deflated entries are
 * inflated, so an archive re-zipped by another tool reads too.
 */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX32 = 0xffffffff;

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();

  constructor(
    private readonly bytes: Buffer,
    private readonly source: string,
  ) {
    const bad = (why: string) => new UserError(`${source}: not a readable zip archive (${why})`);
    // 1. The end-of-central-directory record: in the last 22 + 65,535 bytes (a comment may follow it).
    let eocd = -1;
    for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
      if (bytes.readUInt32LE(i) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw bad("no end-of-central-directory record");
    let count = bytes.readUInt16LE(eocd + 10);
    let cdOffset = bytes.readUInt32LE(eocd + 16);
    // 2. Zip64: the locator sits right before the EOCD and points at the zip64 EOCD.
    if ((count === 0xffff || cdOffset === MAX32) && eocd >= 20 && bytes.readUInt32LE(eocd - 20) === ZIP64_LOCATOR) {
      const at = this.u64(eocd - 20 + 8);
      if (at + 56 > bytes.length || bytes.readUInt32LE(at) !== ZIP64_EOCD) throw bad("bad zip64 end record");
      count = this.u64(at + 32);
      cdOffset = this.u64(at + 48);
    }
    // 3. The central directory: one record per entry.
    let p = cdOffset;
    for (let n = 0; n < count; n++) {
      if (p + 46 > bytes.length || bytes.readUInt32LE(p) !== CENTRAL) throw bad(`central directory record ${n} is damaged`);
      const method = bytes.readUInt16LE(p + 10);
      let compressedSize = bytes.readUInt32LE(p + 20);
      let size = bytes.readUInt32LE(p + 24);
      const nameLength = bytes.readUInt16LE(p + 28);
      const extraLength = bytes.readUInt16LE(p + 30);
      const commentLength = bytes.readUInt16LE(p + 32);
      let localHeaderOffset = bytes.readUInt32LE(p + 42);
      const name = bytes.subarray(p + 46, p + 46 + nameLength).toString("utf8");
      // Zip64 extra field (id 1): 8-byte values for exactly the fields that read 0xFFFFFFFF, in this order.
      let e = p + 46 + nameLength;
      const extraEnd = e + extraLength;
      while (e + 4 <= extraEnd) {
        const id = bytes.readUInt16LE(e);
        const length = bytes.readUInt16LE(e + 2);
        if (id === 1) {
          let q = e + 4;
          if (size === MAX32) {
            size = this.u64(q);
            q += 8;
          }
          if (compressedSize === MAX32) {
            compressedSize = this.u64(q);
            q += 8;
          }
          if (localHeaderOffset === MAX32) localHeaderOffset = this.u64(q);
        }
        e += 4 + length;
      }
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      p = extraEnd + commentLength;
    }
  }

  private u64(at: number): number {
    const v = this.bytes.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UserError(`${this.source}: a zip64 field is too large (${v})`);
    return Number(v);
  }

  /** The entry's bytes (a view into the archive when stored, as torch stores them). */
  read(name: string): Buffer {
    const entry = this.entries.get(name);
    if (!entry) throw new UserError(`${this.source}: the archive has no ${name}`);
    const at = entry.localHeaderOffset;
    if (at + 30 > this.bytes.length || this.bytes.readUInt32LE(at) !== LOCAL) throw new UserError(`${this.source}: ${name}: damaged local header`);
    // The local header's name and extra field (torch pads it for alignment) may differ in length from the central one.
    const start = at + 30 + this.bytes.readUInt16LE(at + 26) + this.bytes.readUInt16LE(at + 28);
    const end = start + entry.compressedSize;
    if (end > this.bytes.length) throw new UserError(`${this.source}: ${name} runs past the end of the file (truncated download?)`);
    const raw = this.bytes.subarray(start, end);
    if (entry.method === 0) return raw;
    if (entry.method === 8) {
      const out = inflateRawSync(raw);
      if (out.length !== entry.size) throw new UserError(`${this.source}: ${name} inflates to ${out.length} bytes, expected ${entry.size}`);
      return out;
    }
    throw new UserError(`${this.source}: ${name} uses zip compression method ${entry.method}; only stored (0) and deflate (8) are read`);
  }
}
