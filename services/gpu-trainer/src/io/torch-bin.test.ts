import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readTorchBin } from "./torch-bin.ts";
import { unpickleStateDict } from "./torch-pickle.ts";
import { floatBytes, PickleWriter, stateDictPickle, torchSave, torchSaveLegacy, type SavedTensor } from "./torch-save.test-helper.ts";
import { ZipReader } from "./zip.ts";

const dir = mkdtempSync(join(tmpdir(), "torch-bin-"));
let n = 0;
function save(tensors: [string, SavedTensor][], pickle?: Uint8Array): string {
  const path = join(dir, `m${n++}.bin`);
  writeFileSync(path, torchSave(tensors, pickle));
  return path;
}
const i64 = (values: number[]) => {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigInt64LE(BigInt(v), i * 8));
  return b;
};

const hasPython = (() => {
  try {
    execFileSync("python3", ["-c", "import zipfile, pickle, pickletools"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("pytorch_model.bin reader", () => {
  it("reads float32, float16 and bfloat16 storages with their shapes", () => {
    const path = save([
      ["a.weight", { key: "0", dtype: "F32", storage: floatBytes([1, -2, 3.5, 0.25, 1e-8, -1e8], "F32"), shape: [2, 3] }],
      ["b.weight", { key: "1", dtype: "F16", storage: floatBytes([1, -2, 0.5, 65504], "F16"), shape: [4] }],
      ["c.bias", { key: "2", dtype: "BF16", storage: floatBytes([1.5, -3], "BF16"), shape: [2, 1] }],
    ]);
    const t = readTorchBin(path);
    expect([...t.keys()]).toEqual(["a.weight", "b.weight", "c.bias"]);
    expect(t.get("a.weight")).toEqual({ shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0.25, 1e-8, -1e8]) });
    expect([...t.get("b.weight")!.data]).toEqual([1, -2, 0.5, 65504]);
    expect(t.get("c.bias")).toEqual({ shape: [2, 1], data: Float32Array.from([1.5, -3]) });
  });

  it("follows storage offsets and strides: tied weights and views share one storage", () => {
    const storage = floatBytes([0, 1, 2, 3, 4, 5, 6, 7], "F32");
    const path = save([
      ["wte.weight", { key: "0", dtype: "F32", storage, shape: [2, 3], offset: 1 }],
      ["lm_head.weight", { key: "0", dtype: "F32", shape: [2, 3], offset: 1 }],
      // A transposed view [3, 2] of elements 1..6: stride (1, 3).
      ["transposed", { key: "0", dtype: "F32", shape: [3, 2], stride: [1, 3], offset: 1 }],
      ["scalar", { key: "0", dtype: "F32", shape: [], offset: 7 }],
    ]);
    const t = readTorchBin(path);
    expect([...t.get("wte.weight")!.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...t.get("lm_head.weight")!.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...t.get("transposed")!.data]).toEqual([1, 4, 2, 5, 3, 6]);
    expect(t.get("scalar")).toEqual({ shape: [], data: Float32Array.from([7]) });
  });

  it("skips int64, uint8 and bool buffers by name, and refuses them as weights", () => {
    const tensors: [string, SavedTensor][] = [
      ["embeddings.position_ids", { key: "0", dtype: "I64", storage: i64([0, 1, 2, 3]), shape: [1, 4] }],
      ["h.0.attn.bias", { key: "1", dtype: "U8", storage: Uint8Array.from([1, 0, 1, 1]), shape: [1, 1, 2, 2] }],
      ["h.1.attn.bias", { key: "2", dtype: "BOOL", storage: Uint8Array.from([1, 0, 1, 1]), shape: [1, 1, 2, 2] }],
      ["w", { key: "3", dtype: "F32", storage: floatBytes([2], "F32"), shape: [1] }],
    ];
    const path = save(tensors);
    const t = readTorchBin(path, { skip: (name) => name !== "w" });
    expect([...t.keys()]).toEqual(["w"]);
    expect(() => readTorchBin(path)).toThrow(/m\d+\.bin: tensor embeddings\.position_ids has dtype I64; ranklab reads F32, F16 and BF16 weights/);
  });

  it("writes what torch writes: a zip Python reads, 64-byte aligned records, a pickle pickletools disassembles", () => {
    const path = save([["w", { key: "0", dtype: "F32", storage: floatBytes([1, 2], "F32"), shape: [2] }]]);
    const zip = new ZipReader(Buffer.from(torchSave([["w", { key: "0", dtype: "F32", storage: floatBytes([1, 2], "F32"), shape: [2] }]])), "mem");
    expect([...zip.entries.keys()]).toEqual(["archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/version", "archive/.data/serialization_id"]);
    if (!hasPython) return;
    const out = execFileSync("python3", [
      "-c",
      [
        "import sys, zipfile, pickletools, io, struct",
        "z = zipfile.ZipFile(sys.argv[1]); raw = open(sys.argv[1], 'rb').read()",
        "assert z.testzip() is None",
        "for i in z.infolist():",
        "    name_len, extra_len = struct.unpack_from('<HH', raw, i.header_offset + 26)",
        "    assert i.compress_type == 0 and (i.header_offset + 30 + name_len + extra_len) % 64 == 0, i",
        "out = io.StringIO(); pickletools.dis(z.read('archive/data.pkl'), out)",
        "print('ok', 'BINPERSID' in out.getvalue())",
      ].join("\n"),
      path,
    ]).toString();
    expect(out.trim()).toBe("ok True");
  });

  it("reads a zip64 archive (sizes and offsets in zip64 fields, as for checkpoints over 4 GB)", () => {
    const tensors: [string, SavedTensor][] = [["w", { key: "0", dtype: "F32", storage: floatBytes([1, 2, 3], "F32"), shape: [3] }]];
    const path = join(dir, "zip64.bin");
    writeFileSync(path, torchSave(tensors, undefined, { zip64: true }));
    expect([...readTorchBin(path).get("w")!.data]).toEqual([1, 2, 3]);
    if (hasPython) {
      const out = execFileSync("python3", [
        "-c",
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(z.read('archive/byteorder').decode())",
        path,
      ]).toString();
      expect(out.trim()).toBe("little");
    }
  });

  it.skipIf(!hasPython)("reads the pickle CPython itself writes for a state dict (protocols 2 and 4)", () => {
    // torch.save is CPython's pickler plus persistent_id; stand-ins with torch's module and class names give the same bytes.
    const script = `
import sys, types, pickle, collections
torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils; torch._utils = utils
class FloatStorage: pass
class LongStorage: pass
for c in (FloatStorage, LongStorage): c.__module__ = "torch"; setattr(torch, c.__name__, c)
def _rebuild_tensor_v2(*a): pass
_rebuild_tensor_v2.__module__ = "torch._utils"; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
class Storage:
    def __init__(s, cls, key, numel): s.cls, s.key, s.numel = cls, key, numel
class Tensor:
    def __init__(s, storage, offset, size, stride): s.args = (storage, offset, size, stride, False, collections.OrderedDict())
    def __reduce_ex__(s, proto): return (_rebuild_tensor_v2, s.args)
class P(pickle.Pickler):
    def persistent_id(s, o): return ("storage", o.cls, o.key, "cpu", o.numel) if isinstance(o, Storage) else None
f, l = Storage(FloatStorage, "0", 70000), Storage(LongStorage, "1", 3)
sd = collections.OrderedDict()
sd["bert.embeddings.word_embeddings.weight"] = Tensor(f, 0, (300, 200), (200, 1))
sd["cls.bias"] = Tensor(f, 69999, (1,), (1,))
sd["bert.embeddings.position_ids"] = Tensor(l, 0, (1, 3), (3, 1))
sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bert", {"version": 1})])
out = __import__("io").BytesIO(); P(out, protocol=int(sys.argv[1])).dump(sd)
sys.stdout.buffer.write(out.getvalue())`;
    for (const protocol of ["2", "4"]) {
      const bytes = execFileSync("python3", ["-c", script, protocol]);
      const refs = unpickleStateDict(bytes, `cpython-protocol-${protocol}`);
      expect([...refs.keys()]).toEqual(["bert.embeddings.word_embeddings.weight", "cls.bias", "bert.embeddings.position_ids"]);
      expect(refs.get("bert.embeddings.word_embeddings.weight")).toMatchObject({
        shape: [300, 200],
        stride: [200, 1],
        offset: 0,
        storage: { dtype: "F32", key: "0", numel: 70000 },
      });
      expect(refs.get("cls.bias")).toMatchObject({ shape: [1], offset: 69999 });
      expect(refs.get("bert.embeddings.position_ids")!.storage.dtype).toBe("I64");
    }
  });

  it("refuses any pickle that would run code or is not a state dict, naming what it found", () => {
    const w = (build: (p: PickleWriter) => void) => {
      const p = new PickleWriter();
      p.byte(0x80, 2);
      build(p);
      p.byte(0x2e);
      return p.bytes();
    };
    const refused = /not a plain state dict .*never runs pickled code/;
    // The classic exploit: os.system("…") via GLOBAL + REDUCE.
    const exploit = w((p) => p.global("os", "system").str("touch /tmp/pwned").byte(0x85, 0x52));
    expect(() => readTorchBin(save([], exploit))).toThrow(/it names the global os\.system/);
    expect(() => readTorchBin(save([], exploit))).toThrow(refused);
    expect(() =>
      unpickleStateDict(
        w((p) => p.global("builtins", "eval")),
        "x",
      ),
    ).toThrow(/builtins\.eval/);
    // Protocol-4 STACK_GLOBAL goes through the same whitelist.
    expect(() =>
      unpickleStateDict(
        w((p) => p.str("subprocess").str("run").byte(0x93)),
        "x",
      ),
    ).toThrow(/subprocess\.run/);
    // NEWOBJ and INST build arbitrary objects: refused by opcode.
    expect(() =>
      unpickleStateDict(
        w((p) => p.global("collections", "OrderedDict").byte(0x29, 0x81)),
        "x",
      ),
    ).toThrow(/opcode 0x81 \(NEWOBJ\)/);
    expect(() =>
      unpickleStateDict(
        w((p) => p.byte(0x28, 0x69, ...Buffer.from("os\nsystem\n"))),
        "x",
      ),
    ).toThrow(/opcode 0x69 \(INST\)/);
    // A training checkpoint ({"model": state_dict, …}) and a bare value are not state dicts.
    expect(() =>
      unpickleStateDict(
        w((p) => p.byte(0x7d).str("model").byte(0x7d, 0x73)),
        "ckpt.bin",
      ),
    ).toThrow(/ckpt\.bin: not a plain state dict \("model" is a dict \(a training checkpoint/);
    expect(() =>
      unpickleStateDict(
        w((p) => p.int(5)),
        "x",
      ),
    ).toThrow(/the pickle is not a dict/);
    // A whitelisted global called in a way a state dict never does.
    expect(() =>
      unpickleStateDict(
        w((p) => p.global("torch._utils", "_rebuild_tensor_v2").byte(0x29, 0x52)),
        "x",
      ),
    ).toThrow(/_rebuild_tensor_v2 with 0 arguments/);
    expect(() =>
      unpickleStateDict(
        w((p) => p.byte(0x7d).str("w").str("not a storage").byte(0x51, 0x73)),
        "x",
      ),
    ).toThrow(/persistent id that is not a storage/);
  });

  it("reads torch's legacy (pre-1.6) format: pickles in a row, then each storage's element count and bytes", () => {
    const tensors: [string, SavedTensor][] = [
      ["bert.embeddings.position_ids", { key: "140230", dtype: "I64", storage: i64([0, 1, 2]), shape: [1, 3] }],
      ["a.weight", { key: "140231", dtype: "F32", storage: floatBytes([1, 2, 3, 4, 5, 6], "F32"), shape: [3, 2] }],
      ["a.tied", { key: "140231", dtype: "F32", shape: [2, 3], stride: [1, 2] }],
      ["b.bias", { key: "140229", dtype: "F16", storage: floatBytes([0.5, -4], "F16"), shape: [2] }],
    ];
    const path = join(dir, "legacy.bin");
    writeFileSync(path, torchSaveLegacy(tensors));
    const t = readTorchBin(path, { skip: (name) => name.endsWith("position_ids") });
    expect([...t.keys()]).toEqual(["a.weight", "a.tied", "b.bias"]);
    expect([...t.get("a.weight")!.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...t.get("a.tied")!.data]).toEqual([1, 3, 5, 2, 4, 6]);
    expect([...t.get("b.bias")!.data]).toEqual([0.5, -4]);
    const bigEndian = join(dir, "big-endian.bin");
    writeFileSync(bigEndian, torchSaveLegacy(tensors, { littleEndian: false }));
    expect(() => readTorchBin(bigEndian)).toThrow(/big-endian\.bin: saved on a big-endian machine/);
    const cut = join(dir, "legacy-cut.bin");
    writeFileSync(cut, torchSaveLegacy(tensors).subarray(0, -5));
    expect(() => readTorchBin(cut)).toThrow(/legacy-cut\.bin: storage 140231 runs past the end of the file/);
  });

  it.skipIf(!hasPython)("reads a legacy file written by CPython's pickler the way torch < 1.6 wrote it", () => {
    const script = `
import sys, types, pickle, struct, collections
torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils; torch._utils = utils
class FloatStorage: pass
FloatStorage.__module__ = "torch"; torch.FloatStorage = FloatStorage
def _rebuild_tensor_v2(*a): pass
_rebuild_tensor_v2.__module__ = "torch._utils"; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
class Storage:
    def __init__(s, key, values): s.key, s.values = key, values
class Tensor:
    def __init__(s, storage, offset, size, stride): s.args = (storage, offset, size, stride, False, collections.OrderedDict())
    def __reduce_ex__(s, proto): return (_rebuild_tensor_v2, s.args)
st = Storage("94251", [0.5, 1.5, -2.0, 3.0])
def pid(o): return ("storage", FloatStorage, o.key, "cpu", len(o.values), None) if isinstance(o, Storage) else None
sd = collections.OrderedDict([("w", Tensor(st, 0, (2, 2), (2, 1))), ("b", Tensor(st, 3, (1,), (1,)))])
sd._metadata = collections.OrderedDict([("", {"version": 1})])
f = sys.stdout.buffer
pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)
pickle.dump(1001, f, protocol=2)
pickle.dump(dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=8)), f, protocol=2)
p = pickle.Pickler(f, protocol=2); p.persistent_id = pid; p.dump(sd)
pickle.dump(sorted([st.key]), f, protocol=2)
f.write(struct.pack("<q", 4)); f.write(struct.pack("<4f", *st.values))`;
    const path = join(dir, "cpython-legacy.bin");
    writeFileSync(path, execFileSync("python3", ["-c", script]));
    const t = readTorchBin(path);
    expect(t.get("w")).toEqual({ shape: [2, 2], data: Float32Array.from([0.5, 1.5, -2, 3]) });
    expect(t.get("b")).toEqual({ shape: [1], data: Float32Array.from([3]) });
  });

  it("names the file when it is damaged or truncated", () => {
    const good = torchSave([["w", { key: "0", dtype: "F32", storage: floatBytes([1, 2, 3, 4], "F32"), shape: [4] }]]);
    const notTorch = join(dir, "not-torch.bin");
    writeFileSync(notTorch, "hello");
    expect(() => readTorchBin(notTorch)).toThrow(/not-torch\.bin: neither a zip archive nor torch's legacy format/);
    const truncated = join(dir, "truncated.bin");
    writeFileSync(truncated, good.subarray(0, good.length - 30));
    expect(() => readTorchBin(truncated)).toThrow(/truncated\.bin: not a readable zip archive/);
    // A shape that reaches past its storage.
    const over = save([["w", { key: "0", dtype: "F32", storage: floatBytes([1, 2, 3], "F32"), shape: [2, 2] }]]);
    expect(() => readTorchBin(over)).toThrow(/tensor w \[2,2\] has more elements than its storage \(3\)/);
    const past = save([["w", { key: "0", dtype: "F32", storage: floatBytes([1, 2, 3], "F32"), shape: [2], offset: 2 }]]);
    expect(() => readTorchBin(past)).toThrow(/tensor w \[2\] reaches past the end of its storage \(3 elements\)/);
    // A stride-0 view claiming 10^12 elements is refused before anything is allocated.
    const huge = save([["w", { key: "0", dtype: "F32", storage: floatBytes([1], "F32"), shape: [1000000, 1000000], stride: [0, 0] }]]);
    expect(() => readTorchBin(huge)).toThrow(/has more elements than its storage/);
    expect(() => readTorchBin(join(dir, "missing.bin"))).toThrow(/missing\.bin: no such file/);
  });
});

describe("stateDictPickle (the test writer) round-trips through the reader", () => {
  it("keeps order, shapes and the shared storage of tied weights", () => {
    const refs = unpickleStateDict(
      stateDictPickle([
        ["a", { key: "0", dtype: "F32", storage: floatBytes([1, 2, 3, 4], "F32"), shape: [2, 2] }],
        ["b", { key: "0", dtype: "F32", shape: [4] }],
      ]),
      "mem",
    );
    expect([...refs.keys()]).toEqual(["a", "b"]);
    expect(refs.get("a")!.storage.key).toBe(refs.get("b")!.storage.key);
  });
});
