import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";

/**
 * A model.onnx is a copy of its folder's weights in another format, and a copy goes
 * stale: `reward train` rewrites best/ in place, a user copies new weights over old
 * ones. So every export is stamped with the sha256 of the weights file it was made
 * from (ONNX's own `metadata_props`, key below, so the stamp travels with the file and
 * shows in Netron), and no session opens a model.onnx whose stamp does not match the
 * folder's weights: it is re-exported where the caller holds the model, else refused
 * with the reason.
 */
export const WEIGHTS_STAMP_KEY = "ranklab.weights_sha256";

/** The weights file a folder loads from, as io/checkpoint-weights.ts picks it; undefined for an export-only folder. */
export function weightsFileOf(dir: string): string | undefined {
  return ["model.safetensors", "pytorch_model.bin"].map((f) => join(dir, f)).find((p) => existsSync(p));
}

/** sha256 (hex) of the folder's weights file; undefined when the folder holds only a graph. */
export function weightsDigest(dir: string): string | undefined {
  const file = weightsFileOf(dir);
  return file ? createHash("sha256").update(readFileSync(file)).digest("hex") : undefined;
}

function varintBytes(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

/** One length-delimited protobuf field: tag, length, bytes. */
const lengthDelimited = (field: number, bytes: ArrayLike<number>): number[] => [
  ...varintBytes((field << 3) | 2),
  ...varintBytes(bytes.length),
  ...Array.from(bytes),
];

/** Encodes ModelProto.metadata_props (field 14, repeated StringStringEntryProto {key = 1, value = 2}). */
function metadataPropsBytes(props: Record<string, string>): Uint8Array {
  const utf8 = (s: string) => new TextEncoder().encode(s);
  return Uint8Array.from(
    Object.entries(props).flatMap(([key, value]) => lengthDelimited(14, [...lengthDelimited(1, utf8(key)), ...lengthDelimited(2, utf8(value))])),
  );
}

/**
 * `model` (an encoded ModelProto) with `props` added to its metadata. Protobuf reads
 * fields in any order and concatenated messages merge, so appending the field is a valid
 * model: no re-encoding of a graph that may be gigabytes.
 */
export function withMetadata(model: Uint8Array, props: Record<string, string>): Uint8Array {
  const tail = metadataPropsBytes(props);
  const out = new Uint8Array(model.length + tail.length);
  out.set(model);
  out.set(tail, model.length);
  return out;
}

/**
 * The metadata_props of a model.onnx file, read by walking the ModelProto's top-level
 * fields and seeking over the others (the graph with its weights is skipped, not read).
 */
export function readOnnxMetadata(path: string): Map<string, string> {
  const fd = openSync(path, "r");
  const size = statSync(path).size;
  const props = new Map<string, string>();
  try {
    let pos = 0;
    const byte = () => {
      const b = Buffer.alloc(1);
      if (readSync(fd, b, 0, 1, pos) !== 1) throw new Error("truncated");
      pos += 1;
      return b[0]!;
    };
    const varint = () => {
      let v = 0;
      let scale = 1;
      for (;;) {
        const b = byte();
        v += (b & 0x7f) * scale;
        if ((b & 0x80) === 0) return v;
        scale *= 128;
      }
    };
    const bytesAt = (length: number) => {
      const b = Buffer.alloc(length);
      if (readSync(fd, b, 0, length, pos) !== length) throw new Error("truncated");
      pos += length;
      return b;
    };
    while (pos < size) {
      const key = varint();
      const [field, wire] = [Math.floor(key / 8), key & 7];
      if (wire === 0) varint();
      else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        const length = varint();
        if (field !== 14) {
          pos += length;
          continue;
        }
        const entry = bytesAt(length);
        const parts: Record<number, string> = {};
        let p = 0;
        while (p < entry.length) {
          const tag = entry[p++]! >> 3;
          let len = 0;
          let scale = 1;
          for (;;) {
            const b = entry[p++]!;
            len += (b & 0x7f) * scale;
            if ((b & 0x80) === 0) break;
            scale *= 128;
          }
          parts[tag] = entry.subarray(p, p + len).toString("utf8");
          p += len;
        }
        if (parts[1] !== undefined) props.set(parts[1], parts[2] ?? "");
      } else throw new Error(`wire type ${wire}`);
    }
  } catch (err) {
    throw new UserError(`${path}: not a readable ONNX model (${err instanceof Error ? err.message : String(err)})`);
  } finally {
    closeSync(fd);
  }
  return props;
}

/**
 * Why `dir`'s model.onnx must not be used for the folder's weights, or undefined when it
 * may: it is missing, carries no stamp (made before stamps, or by another tool), or was
 * made from other weights. A folder with only a graph (no weights file) has nothing
 * to go stale against.
 */
export function onnxStaleness(dir: string): string | undefined {
  const path = join(dir, "model.onnx");
  if (!existsSync(path)) return "no model.onnx";
  const digest = weightsDigest(dir);
  if (digest === undefined) return undefined;
  const stamp = readOnnxMetadata(path).get(WEIGHTS_STAMP_KEY);
  if (stamp === undefined) return "model.onnx carries no weights stamp, so it may have been made from other weights";
  if (stamp !== digest) return `model.onnx was made from other weights (stamp ${stamp.slice(0, 12)}…, weights ${digest.slice(0, 12)}…)`;
  return undefined;
}

/** Throws the reason when `dir`'s model.onnx does not match its weights (for sessions that cannot export). */
export function requireCurrentOnnx(dir: string): void {
  const reason = onnxStaleness(dir);
  if (reason) throw new UserError(`${dir}: ${reason}; export it with \`ranklab-trainer onnx export ${dir}\``);
}

/**
 * Makes sure `dir/model.onnx` matches the folder's weights, exporting it with `exportTo`
 * (which writes a stamped model.onnx) when it is missing or stale; returns why it
 * exported, or undefined when the file was current.
 */
export function ensureCurrentOnnx(dir: string, exportTo: (dir: string) => void): string | undefined {
  const reason = onnxStaleness(dir);
  if (reason) exportTo(dir);
  return reason;
}
