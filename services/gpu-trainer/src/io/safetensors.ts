import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { UserError } from "../errors.ts";

/**
 * The safetensors format Hugging Face checkpoints use: an 8-byte little-endian header
 * length, a JSON header `{name: {dtype, shape, data_offsets}}`, then the raw bytes.
 * Read: F32, F16, BF16 (converted to float32); tensors of any dtype may be skipped by
 * name (the integer buffers some checkpoints carry). Written: F32.
 */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export type TensorMap = Map<string, NamedTensor>;

const HEADER_LIMIT = 100 * 1024 * 1024;

/** Bytes per element of the safetensors dtypes a checkpoint may hold. */
const WIDTHS: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, U64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1 };

export function readSafetensors(path: string, options: { skip?: (name: string) => boolean } = {}): { tensors: TensorMap; metadata: Record<string, string> } {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  const bytes = readFileSync(path);
  if (bytes.byteLength < 8) throw new UserError(`${path}: too short to be a safetensors file`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > HEADER_LIMIT || 8 + headerLength > bytes.byteLength)
    throw new UserError(`${path}: header length ${headerLength} does not fit the file (${bytes.byteLength} bytes)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"));
  } catch {
    throw new UserError(`${path}: the safetensors header is not valid JSON`);
  }
  const base = 8 + headerLength;
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (options.skip?.(name)) continue;
    const count = shape.reduce((a, b) => a * b, 1);
    const width = dtype === "F32" ? 4 : dtype === "F16" || dtype === "BF16" ? 2 : 0;
    if (!width) throw new UserError(`${path}: tensor ${name} has dtype ${dtype}${WIDTHS[dtype] ? "" : " (unknown)"}; ranklab reads F32, F16 and BF16 weights`);
    if (end - begin !== count * width || base + end > bytes.byteLength)
      throw new UserError(`${path}: tensor ${name} (${dtype} ${JSON.stringify(shape)}) has ${end - begin} bytes, expected ${count * width}`);
    const raw = bytes.subarray(base + begin, base + end);
    tensors.set(name, { shape, data: toFloat32(raw, dtype, count) });
  }
  return { tensors, metadata };
}

/** `count` little-endian F32, F16 or BF16 values as float32. */
export function toFloat32(raw: Buffer, dtype: string, count: number): Float32Array {
  const out = new Float32Array(count);
  if (dtype === "F32") {
    for (let i = 0; i < count; i++) out[i] = raw.readFloatLE(i * 4);
    return out;
  }
  if (dtype !== "F16" && dtype !== "BF16") throw new Error(`toFloat32: dtype ${dtype}`);
  const scratch = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < count; i++) {
    const half = raw.readUInt16LE(i * 2);
    if (dtype === "BF16") {
      scratch.setUint32(0, half << 16);
      out[i] = scratch.getFloat32(0);
    } else out[i] = halfToFloat(half);
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Writes tensors in name order (as Hugging Face does), data aligned to 8 bytes. */
export function writeSafetensors(path: string, tensors: TensorMap, metadata: Record<string, string> = { format: "pt" }): void {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors.get(name)!;
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headerBytes.byteLength + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.byteLength), 0);
  headerBytes.copy(out, 8);
  let cursor = 8 + headerBytes.byteLength;
  for (const name of names) {
    const { data } = tensors.get(name)!;
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, cursor);
    cursor += data.byteLength;
  }
  writeFileSync(path, out);
}
