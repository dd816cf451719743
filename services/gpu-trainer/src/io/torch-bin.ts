import { existsSync, readFileSync } from "node:fs";
import { UserError } from "../errors.ts";
import { toFloat32, type TensorMap } from "./safetensors.ts";
import { isKind, stateDictOf, unpickle, unpickleStateDict, type TensorRef } from "./torch-pickle.ts";
import { ZipReader } from "./zip.ts";

/**
 * `pytorch_model.bin`, as `torch.save(model.state_dict())` writes it, in both containers:
 * - torch ≥ 1.6: a zip archive holding `<name>/data.pkl` (a pickle of the state dict)
 *   and one record per storage (`<name>/data/<key>`, raw little-endian bytes);
 * - torch < 1.6 (the "legacy" format, as in many Hub checkpoints from 2019–2020):
 *   pickles in a row (magic number, protocol 1001, system info, the state dict, the
 *   storage keys), then each storage as an int64 element count and its bytes.
 * The pickles are read by torch-pickle.ts, which never runs code.
 *
 * Weights may be float32, float16 or bfloat16 (read as float32). Integer and bool
 * tensors (the `position_ids` and `attn.bias` buffers) are accepted only when `skip`
 * drops them by name.
 */

const WEIGHT_DTYPES = new Set(["F32", "F16", "BF16"]);
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** A tensor's bytes laid out contiguously (row-major), following its offset and strides within the storage. */
function contiguousBytes(t: TensorRef, storageBytes: Buffer): Buffer {
  const { width } = t.storage;
  const count = t.shape.reduce((a, b) => a * b, 1);
  let contiguous = true;
  for (let d = t.shape.length - 1, expected = 1; d >= 0; d--) {
    if (t.shape[d]! !== 1 && t.stride[d]! !== expected) contiguous = false;
    expected *= t.shape[d]!;
  }
  if (contiguous) return storageBytes.subarray(t.offset * width, (t.offset + count) * width);
  const out = Buffer.alloc(count * width);
  const index = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let at = t.offset;
    for (let d = 0; d < index.length; d++) at += index[d]! * t.stride[d]!;
    storageBytes.copy(out, i * width, at * width, (at + 1) * width);
    for (let d = index.length - 1; d >= 0; d--) {
      if (++index[d]! < t.shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

export interface ReadOptions {
  /** Tensors to leave out, whatever their dtype (non-parameter buffers). */
  skip?: (name: string) => boolean;
}

/** Reads a `pytorch_model.bin` (zip or legacy container) into float32 tensors. */
export function readTorchBin(path: string, options: ReadOptions = {}): TensorMap {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  const bytes = readFileSync(path);
  const { refs, storage } = bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50 ? zipContainer(bytes, path) : legacyContainer(bytes, path);
  const tensors: TensorMap = new Map();
  for (const [name, t] of refs) {
    if (options.skip?.(name)) continue;
    if (!WEIGHT_DTYPES.has(t.storage.dtype))
      throw new UserError(`${path}: tensor ${name} has dtype ${t.storage.dtype}; ranklab reads F32, F16 and BF16 weights`);
    const data = storage(t.storage.key);
    const { width, numel } = t.storage;
    if (data.length < numel * width) throw new UserError(`${path}: storage ${t.storage.key} has ${data.length} bytes, expected ${numel * width}`);
    let last = t.offset;
    for (let d = 0; d < t.shape.length; d++) if (t.shape[d]! > 0) last += (t.shape[d]! - 1) * t.stride[d]!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    // A stride-0 (expanded) view may have more elements than its storage; none of a model's weights does.
    if (count > numel)
      throw new UserError(`${path}: tensor ${name} [${t.shape}] has more elements than its storage (${numel}); expanded views are not weights`);
    if (count > 0 && last >= numel) throw new UserError(`${path}: tensor ${name} [${t.shape}] reaches past the end of its storage (${numel} elements)`);
    tensors.set(name, { shape: t.shape, data: toFloat32(contiguousBytes(t, data), t.storage.dtype, count) });
  }
  return tensors;
}

interface Container {
  refs: Map<string, TensorRef>;
  /** A storage's raw bytes by key. */
  storage: (key: string) => Buffer;
}

function zipContainer(bytes: Buffer, path: string): Container {
  const zip = new ZipReader(bytes, path);
  const pickles = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) throw new UserError(`${path}: expected one <name>/data.pkl in the archive, found ${pickles.length}; is this a torch.save file?`);
  const prefix = pickles[0]!.slice(0, -"data.pkl".length);
  if (zip.entries.has(`${prefix}byteorder`)) {
    const order = zip.read(`${prefix}byteorder`).toString("latin1").trim();
    if (order !== "little") throw new UserError(`${path}: saved with byte order "${order}"; ranklab reads little-endian checkpoints`);
  }
  const refs = unpickleStateDict(zip.read(pickles[0]!), `${path} (${pickles[0]})`);
  const cache = new Map<string, Buffer>();
  return {
    refs,
    storage: (key) => {
      if (!cache.has(key)) cache.set(key, zip.read(`${prefix}data/${key}`));
      return cache.get(key)!;
    },
  };
}

function legacyContainer(bytes: Buffer, path: string): Container {
  const notTorch = () =>
    new UserError(`${path}: neither a zip archive nor torch's legacy format, so not a torch.save file; convert the checkpoint to model.safetensors`);
  if (bytes.length < 2 || bytes[0] !== 0x80) throw notTorch();
  // 1. Magic number, protocol version, and the saving machine's byte order.
  const magic = unpickle(bytes, 0, path);
  if (magic.value !== LEGACY_MAGIC) throw notTorch();
  const protocol = unpickle(bytes, magic.end, path);
  if (protocol.value !== LEGACY_PROTOCOL)
    throw new UserError(`${path}: torch legacy format protocol ${String(protocol.value)}; ranklab reads ${LEGACY_PROTOCOL}`);
  const sysInfo = unpickle(bytes, protocol.end, path);
  if (!isKind(sysInfo.value, "dict") || sysInfo.value.entries.get("little_endian") !== true)
    throw new UserError(`${path}: saved on a big-endian machine (or without system info); ranklab reads little-endian checkpoints`);
  // 2. The state dict, then the keys of the storages that follow, in file order.
  const main = unpickle(bytes, sysInfo.end, path);
  const refs = stateDictOf(main.value, path);
  const keys = unpickle(bytes, main.end, path);
  if (!isKind(keys.value, "list") || !keys.value.items.every((k) => typeof k === "string"))
    throw new UserError(`${path}: the legacy storage key list is damaged`);
  // 3. Each storage: an int64 element count, then its bytes (the width comes from the tensors that use it).
  const widths = new Map<string, number>();
  for (const t of refs.values()) widths.set(t.storage.key, t.storage.width);
  const storages = new Map<string, Buffer>();
  let p = keys.end;
  for (const key of keys.value.items as string[]) {
    if (p + 8 > bytes.length) throw new UserError(`${path}: ends before storage ${key} (truncated download?)`);
    const count = Number(bytes.readBigInt64LE(p));
    const width = widths.get(key);
    if (width === undefined) throw new UserError(`${path}: storage ${key} is used by no tensor`);
    const end = p + 8 + count * width;
    if (count < 0 || end > bytes.length) throw new UserError(`${path}: storage ${key} runs past the end of the file (truncated download?)`);
    storages.set(key, bytes.subarray(p + 8, end));
    p = end;
  }
  return {
    refs,
    storage: (key) => {
      const data = storages.get(key);
      if (!data) throw new UserError(`${path}: no data for storage ${key}`);
      return data;
    },
  };
}
