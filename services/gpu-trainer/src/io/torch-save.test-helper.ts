/**
 * For tests: writes a `pytorch_model.bin` as `torch.save(state_dict)` does (torch ≥ 1.6),
 * so the reader is tested on real layouts without torch. The pickle is protocol 2 with
 * the opcodes CPython's pickler emits for an OrderedDict of tensors (globals memoized
 * and fetched again with BINGET, persistent ids for storages, `_metadata` set by
 * BUILD); the zip holds `archive/data.pkl`, `archive/byteorder`, `archive/data/<key>`,
 * `archive/version` and `archive/.data/serialization_id` as stored records whose data
 * starts on a 64-byte boundary (torch pads the local header's extra field).
 */

export type StorageDtype = "F32" | "F16" | "BF16" | "I64" | "U8" | "BOOL";

const STORAGE_CLASS: Record<StorageDtype, string> = {
  F32: "FloatStorage",
  F16: "HalfStorage",
  BF16: "BFloat16Storage",
  I64: "LongStorage",
  U8: "ByteStorage",
  BOOL: "BoolStorage",
};
const WIDTH: Record<StorageDtype, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, U8: 1, BOOL: 1 };

export interface SavedTensor {
  /** Storage key: tensors with the same key share a storage (tied weights, views). */
  key: string;
  dtype: StorageDtype;
  /** The storage's raw little-endian bytes (the first tensor with a key provides them). */
  storage?: Uint8Array;
  offset?: number;
  shape: number[];
  /** Row-major when absent. */
  stride?: number[];
}

export class PickleWriter {
  private parts: number[] = [];
  private memo = new Map<string, number>();

  byte(...b: number[]): this {
    this.parts.push(...b);
    return this;
  }
  private u32(n: number): void {
    this.byte(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  /** BINPUT (or LONG_BINPUT) of the object on top of the stack. */
  put(): number {
    const id = this.memoSize++;
    if (id < 256) this.byte(0x71, id);
    else this.byte(0x72), this.u32(id);
    return id;
  }
  private memoSize = 0;
  get(id: number): this {
    if (id < 256) this.byte(0x68, id);
    else this.byte(0x6a), this.u32(id);
    return this;
  }
  /** GLOBAL, memoized as CPython does: a second use is a BINGET. */
  global(module: string, name: string): this {
    const key = `${module}.${name}`;
    const id = this.memo.get(key);
    if (id !== undefined) return this.get(id);
    this.byte(0x63, ...Buffer.from(`${module}\n${name}\n`, "latin1"));
    this.memo.set(key, this.put());
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s, "utf8");
    this.byte(0x58);
    this.u32(b.length);
    this.byte(...b);
    this.put();
    return this;
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.byte(0x4b, n);
    if (n >= 0 && n < 65536) return this.byte(0x4d, n & 0xff, n >> 8);
    this.byte(0x4a);
    this.u32(n >>> 0);
    return this;
  }
  /** A tuple of small ints as CPython writes it: TUPLE1/2/3, else MARK … TUPLE. */
  intTuple(values: number[]): this {
    if (values.length === 0) return this.byte(0x29);
    if (values.length > 3) this.byte(0x28);
    for (const v of values) this.int(v);
    this.byte(values.length <= 3 ? 0x84 + values.length : 0x74);
    this.put();
    return this;
  }
  emptyOrderedDict(): this {
    this.global("collections", "OrderedDict").byte(0x29, 0x52);
    this.put();
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** The pickle `torch.save` writes for an OrderedDict state dict (`legacy`: torch < 1.6's persistent ids, with view_metadata None). */
export function stateDictPickle(tensors: [string, SavedTensor][], { legacy = false } = {}): Uint8Array {
  const numels = new Map<string, number>();
  for (const [, t] of tensors) if (t.storage && !numels.has(t.key)) numels.set(t.key, t.storage.length / WIDTH[t.dtype]);
  const w = new PickleWriter();
  w.byte(0x80, 2);
  w.emptyOrderedDict();
  w.byte(0x28); // MARK for SETITEMS
  for (const [name, t] of tensors) {
    w.str(name);
    w.global("torch._utils", "_rebuild_tensor_v2");
    w.byte(0x28); // MARK: the call's arguments
    // The persistent id ("storage", torch.FloatStorage, key, location, numel), then BINPERSID.
    const numel = numels.get(t.key) ?? 0;
    w.byte(0x28).str("storage").global("torch", STORAGE_CLASS[t.dtype]).str(t.key).str("cpu").int(numel);
    if (legacy) w.byte(0x4e);
    w.byte(0x74);
    w.put();
    w.byte(0x51);
    w.int(t.offset ?? 0);
    w.intTuple(t.shape);
    w.intTuple(t.stride ?? rowMajor(t.shape));
    w.byte(0x89); // requires_grad False
    w.emptyOrderedDict(); // backward hooks
    w.byte(0x74); // TUPLE of the arguments
    w.put();
    w.byte(0x52); // REDUCE
    w.put();
  }
  w.byte(0x75); // SETITEMS
  // state_dict._metadata = OrderedDict({"": {"version": 1}}), restored by BUILD.
  w.byte(0x7d);
  w.put();
  w.str("_metadata").emptyOrderedDict().str("").byte(0x7d);
  w.put();
  w.str("version").int(1).byte(0x73, 0x73, 0x73); // SETITEM ×3: version, "", _metadata
  w.byte(0x62, 0x2e); // BUILD, STOP
  return w.bytes();
}

function rowMajor(shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1, s = 1; d >= 0; d--) (out[d] = s), (s *= shape[d]!);
  return out;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A zip of stored records, data 64-byte aligned, as torch's PyTorchFileWriter lays them
 * out. `zip64`: the central directory and its end carry their sizes and offsets in zip64
 * fields, as miniz writes them for checkpoints over 4 GB.
 */
export function storedZip(records: [string, Uint8Array][], { zip64 = false } = {}): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of records) {
    const nameBytes = Buffer.from(name, "utf8");
    // Pad with an extra field ("FB", as torch names it) so the data starts on a 64-byte boundary.
    const unpadded = offset + 30 + nameBytes.length + 4;
    const pad = (64 - (unpadded % 64)) % 64;
    const extra = Buffer.alloc(4 + pad, 0x5a);
    extra.writeUInt16LE(0x4246, 0);
    extra.writeUInt16LE(pad, 2);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    chunks.push(local, nameBytes, extra, Buffer.from(data));
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(zip64 ? 45 : 20, 4);
    cd.writeUInt16LE(zip64 ? 45 : 20, 6);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(zip64 ? 0xffffffff : data.length, 20);
    cd.writeUInt32LE(zip64 ? 0xffffffff : data.length, 24);
    cd.writeUInt16LE(nameBytes.length, 28);
    cd.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    // The zip64 extra field: uncompressed size, compressed size, local header offset.
    const extra64 = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra64.writeUInt16LE(1, 0);
      extra64.writeUInt16LE(24, 2);
      extra64.writeBigUInt64LE(BigInt(data.length), 4);
      extra64.writeBigUInt64LE(BigInt(data.length), 12);
      extra64.writeBigUInt64LE(BigInt(offset), 20);
    }
    cd.writeUInt16LE(extra64.length, 30);
    central.push(cd, nameBytes, extra64);
    offset += 30 + nameBytes.length + extra.length + data.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : records.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : records.length, 10);
  end.writeUInt32LE(zip64 ? 0xffffffff : cdBytes.length, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  if (!zip64) return Buffer.concat([...chunks, cdBytes, end]);
  const end64 = Buffer.alloc(56);
  end64.writeUInt32LE(0x06064b50, 0);
  end64.writeBigUInt64LE(44n, 4);
  end64.writeUInt16LE(45, 12);
  end64.writeUInt16LE(45, 14);
  end64.writeBigUInt64LE(BigInt(records.length), 24);
  end64.writeBigUInt64LE(BigInt(records.length), 32);
  end64.writeBigUInt64LE(BigInt(cdBytes.length), 40);
  end64.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + cdBytes.length), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([...chunks, cdBytes, end64, locator, end]);
}

/** A whole `pytorch_model.bin`: pickle, byte order, one record per storage key, version. */
export function torchSave(tensors: [string, SavedTensor][], pickle: Uint8Array = stateDictPickle(tensors), options: { zip64?: boolean } = {}): Buffer {
  const storages = new Map<string, Uint8Array>();
  for (const [, t] of tensors) if (t.storage && !storages.has(t.key)) storages.set(t.key, t.storage);
  return storedZip(
    [
      ["archive/data.pkl", pickle],
      ["archive/byteorder", Buffer.from("little")],
      ...[...storages].map(([key, data]): [string, Uint8Array] => [`archive/data/${key}`, data]),
      ["archive/version", Buffer.from("3\n")],
      ["archive/.data/serialization_id", Buffer.from("1234567890123456789012345678901234567890")],
    ],
    options,
  );
}

/** Float32 values as F32, F16 or BF16 little-endian bytes (F16/BF16 truncated; tests pick exactly representable values). */
export function floatBytes(values: number[], dtype: "F32" | "F16" | "BF16"): Uint8Array {
  const out = Buffer.alloc(values.length * (dtype === "F32" ? 4 : 2));
  const scratch = new DataView(new ArrayBuffer(4));
  values.forEach((v, i) => {
    if (dtype === "F32") return out.writeFloatLE(v, i * 4);
    scratch.setFloat32(0, v);
    const bits = scratch.getUint32(0);
    if (dtype === "BF16") return out.writeUInt16LE(bits >>> 16, i * 2);
    // F16 for values that are exact in it: sign, exponent rebased from 127 to 15, 10 mantissa bits.
    const sign = (bits >>> 16) & 0x8000;
    const exp = (bits >>> 23) & 0xff;
    const half = v === 0 ? sign : sign | ((exp - 127 + 15) << 10) | ((bits >>> 13) & 0x3ff);
    return out.writeUInt16LE(half, i * 2);
  });
  return out;
}

/**
 * A `pytorch_model.bin` in torch < 1.6's legacy format: pickles of the magic number,
 * protocol 1001 and system info, the state dict, the sorted storage keys; then each
 * storage as an int64 element count and its bytes.
 */
export function torchSaveLegacy(tensors: [string, SavedTensor][], { littleEndian = true } = {}): Buffer {
  const one = (build: (w: PickleWriter) => void) => {
    const w = new PickleWriter();
    w.byte(0x80, 2);
    build(w);
    return Buffer.from(w.byte(0x2e).bytes());
  };
  const magic = Buffer.alloc(10);
  magic.writeBigUInt64LE(0x1950a86a20f9469cfc6cn & 0xffffffffffffffffn, 0);
  magic.writeUInt16LE(0x1950, 8);
  const storages = new Map<string, SavedTensor>();
  for (const [, t] of tensors) if (t.storage && !storages.has(t.key)) storages.set(t.key, t);
  const keys = [...storages.keys()].sort();
  const parts = [
    one((w) => w.byte(0x8a, 10, ...magic)),
    one((w) => w.int(1001)),
    one((w) => {
      w.byte(0x7d);
      w.put();
      w.byte(0x28)
        .str("protocol_version")
        .int(1001)
        .str("little_endian")
        .byte(littleEndian ? 0x88 : 0x89)
        .str("type_sizes")
        .byte(0x7d);
      w.put();
      w.byte(0x28).str("short").int(2).str("int").int(4).str("long").int(4).byte(0x75, 0x75);
    }),
    Buffer.from(stateDictPickle(tensors, { legacy: true })),
    one((w) => {
      w.byte(0x5d);
      w.put();
      w.byte(0x28);
      for (const key of keys) w.str(key);
      w.byte(0x65);
    }),
  ];
  for (const key of keys) {
    const t = storages.get(key)!;
    const count = Buffer.alloc(8);
    count.writeBigInt64LE(BigInt(t.storage!.length / WIDTH[t.dtype]));
    parts.push(count, Buffer.from(t.storage!));
  }
  return Buffer.concat(parts);
}
