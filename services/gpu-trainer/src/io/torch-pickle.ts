import { UserError } from "../errors.ts";

/**
 * The pickles inside `pytorch_model.bin`, read by a small interpreter that understands
 * only what a state dict needs and never runs code: a whitelist of opcodes (no
 * INST/OBJ/NEWOBJ, no extension registry) and of globals (`collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2`/`_rebuild_parameter`, `torch.*Storage`), each of
 * which it evaluates itself into plain data. Tensors come from persistent ids
 * `("storage", torch.FloatStorage, key, location, numel)`. Anything else is refused
 * with the opcode or global named.
 */

/** Storage classes torch pickles by name, and their safetensors dtype. */
const STORAGES: Record<string, { dtype: string; width: number }> = {
  FloatStorage: { dtype: "F32", width: 4 },
  HalfStorage: { dtype: "F16", width: 2 },
  BFloat16Storage: { dtype: "BF16", width: 2 },
  DoubleStorage: { dtype: "F64", width: 8 },
  LongStorage: { dtype: "I64", width: 8 },
  IntStorage: { dtype: "I32", width: 4 },
  ShortStorage: { dtype: "I16", width: 2 },
  CharStorage: { dtype: "I8", width: 1 },
  ByteStorage: { dtype: "U8", width: 1 },
  BoolStorage: { dtype: "BOOL", width: 1 },
};

const ORDERED_DICT = "collections.OrderedDict";
const REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
const REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
const GLOBALS = new Set([ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER, ...Object.keys(STORAGES).map((s) => `torch.${s}`)]);

// The values the interpreter builds. Python ints become numbers (bigint only past 2^53).
export type Value = null | boolean | number | bigint | string | Tuple | List | Dict | Global | Storage | TensorRef;
interface Tuple {
  kind: "tuple";
  items: Value[];
}
interface List {
  kind: "list";
  items: Value[];
}
interface Dict {
  kind: "dict";
  entries: Map<string | number, Value>;
  ordered: boolean;
}
interface Global {
  kind: "global";
  name: string;
}
export interface Storage {
  kind: "storage";
  dtype: string;
  width: number;
  key: string;
  numel: number;
}
export interface TensorRef {
  kind: "tensor";
  storage: Storage;
  offset: number;
  shape: number[];
  stride: number[];
}
const MARK = Symbol("mark");
type Slot = Value | typeof MARK;

export const isKind = <K extends string>(v: Value | undefined, kind: K): v is Extract<Value, { kind: K }> =>
  typeof v === "object" && v !== null && (v as { kind?: string }).kind === kind;

const OPCODE_NAMES = new Map<number, string>([
  [0x63, "GLOBAL"],
  [0x69, "INST"],
  [0x6f, "OBJ"],
  [0x81, "NEWOBJ"],
  [0x92, "NEWOBJ_EX"],
  [0x82, "EXT1"],
  [0x50, "PERSID"],
  [0x52, "REDUCE"],
  [0x62, "BUILD"],
]);

/** The error for anything a state dict does not hold. */
export const notAStateDict = (source: string, why: string) =>
  new UserError(
    `${source}: not a plain state dict (${why}); ranklab reads only tensors saved by torch.save(model.state_dict()) and never runs pickled code. Convert the checkpoint to model.safetensors (safetensors' convert script) if it holds more.`,
  );

/** Interprets a state-dict pickle; `source` names the file in every error. */
export function unpickleStateDict(data: Uint8Array, source: string): Map<string, TensorRef> {
  return stateDictOf(unpickle(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 0, source).value, source);
}

/**
 * Runs the whitelisted interpreter on the pickle that starts at `start` (torch's legacy
 * format holds several in a row): its value, and where it ended.
 */
export function unpickle(buf: Buffer, start: number, source: string): { value: Value; end: number } {
  const refuse = (why: string) => notAStateDict(source, why);
  const damaged = (why: string) => new UserError(`${source}: damaged pickle (${why})`);
  const stack: Slot[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Value>();
  let p = start;
  const need = (n: number) => {
    if (p + n > buf.length) throw damaged(`ends inside an opcode at byte ${p}`);
  };
  const pop = (): Value => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw damaged(`stack underflow at byte ${p}`);
    return v;
  };
  const top = (): Value => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw damaged(`stack underflow at byte ${p}`);
    return v;
  };
  const popMark = (): Value[] => {
    const at = marks.pop();
    if (at === undefined) throw damaged(`no MARK at byte ${p}`);
    const items = stack.splice(at + 1) as Value[];
    stack.pop(); // the MARK itself
    return items;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, p);
    if (end < 0) throw damaged("unterminated GLOBAL");
    const s = buf.subarray(p, end).toString("latin1");
    p = end + 1;
    return s;
  };
  const text = (n: number, encoding: BufferEncoding) => {
    need(n);
    const s = buf.subarray(p, p + n).toString(encoding);
    p += n;
    return s;
  };
  const global = (module: string, name: string): Global => {
    const full = `${module}.${name}`;
    if (!GLOBALS.has(full)) throw refuse(`it names the global ${full}`);
    return { kind: "global", name: full };
  };
  const setItem = (dict: Value, key: Value, value: Value) => {
    if (!isKind(dict, "dict")) throw refuse("SETITEM on something other than a dict");
    if (typeof key !== "string" && typeof key !== "number") throw refuse("a dict key that is not a string or an int");
    dict.entries.set(key, value);
  };
  const int = (v: Value, what: string): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw refuse(`${what} is ${String(v)}, not a non-negative int`);
    return v;
  };
  const ints = (v: Value, what: string): number[] => {
    if (!isKind(v, "tuple")) throw refuse(`${what} is not a tuple`);
    return v.items.map((x, i) => int(x, `${what}[${i}]`));
  };

  for (;;) {
    need(1);
    const op = buf[p++]!;
    switch (op) {
      case 0x80: // PROTO
        need(1);
        if (buf[p]! > 5) throw damaged(`pickle protocol ${buf[p]}`);
        p += 1;
        break;
      case 0x95: // FRAME (protocol 4): a length we do not need
        need(8);
        p += 8;
        break;
      case 0x2e: // STOP
        return { value: pop(), end: p };
      case 0x28: // MARK
        marks.push(stack.length);
        stack.push(MARK);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push({ kind: "tuple", items: [] });
        break;
      case 0x74: {
        // TUPLE
        const items = popMark();
        stack.push({ kind: "tuple", items });
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {
        // TUPLE1/2/3
        const n = op - 0x84;
        const items: Value[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push({ kind: "tuple", items });
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push({ kind: "list", items: [] });
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!isKind(list, "list")) throw refuse("APPEND to something other than a list");
        list.items.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!isKind(list, "list")) throw refuse("APPENDS to something other than a list");
        list.items.push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push({ kind: "dict", entries: new Map(), ordered: false });
        break;
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItem(top(), key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) throw damaged("SETITEMS with an odd number of items");
        const dict = top();
        for (let i = 0; i < items.length; i += 2) setItem(dict, items[i]!, items[i + 1]!);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(buf.readInt32LE(p));
        p += 4;
        break;
      case 0x4b: // BININT1
        need(1);
        stack.push(buf[p]!);
        p += 1;
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(buf.readUInt16LE(p));
        p += 2;
        break;
      case 0x8a: {
        // LONG1: n bytes of little-endian two's complement
        need(1);
        const n = buf[p++]!;
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[p + i]!);
        if (n > 0 && buf[p + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT: big-endian double
        need(8);
        stack.push(buf.readDoubleBE(p));
        p += 8;
        break;
      case 0x58: // BINUNICODE
        need(4);
        p += 4;
        stack.push(text(buf.readUInt32LE(p - 4), "utf8"));
        break;
      case 0x8c: // SHORT_BINUNICODE
        need(1);
        p += 1;
        stack.push(text(buf[p - 1]!, "utf8"));
        break;
      case 0x8d: {
        // BINUNICODE8
        need(8);
        const n = Number(buf.readBigUInt64LE(p));
        p += 8;
        stack.push(text(n, "utf8"));
        break;
      }
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        need(1);
        p += 1;
        stack.push(text(buf[p - 1]!, "latin1"));
        break;
      case 0x54: // BINSTRING
        need(4);
        p += 4;
        stack.push(text(buf.readUInt32LE(p - 4), "latin1"));
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") throw damaged("STACK_GLOBAL without two strings");
        stack.push(global(module, name));
        break;
      }
      case 0x71: // BINPUT
        need(1);
        memo.set(buf[p++]!, top());
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(buf.readUInt32LE(p), top());
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const n = op === 0x68 ? 1 : 4;
        need(n);
        const key = n === 1 ? buf[p]! : buf.readUInt32LE(p);
        p += n;
        if (!memo.has(key)) throw damaged(`memo ${key} read before it is written`);
        stack.push(memo.get(key)!);
        break;
      }
      case 0x51: {
        // BINPERSID: ("storage", torch.XStorage, key, location, numel), and in the legacy format a sixth item, view_metadata.
        const pid = pop();
        if (!isKind(pid, "tuple") || (pid.items.length !== 5 && pid.items.length !== 6) || pid.items[0] !== "storage")
          throw refuse("a persistent id that is not a storage");
        const [, type, key, location, numel, view = null] = pid.items;
        if (!isKind(type, "global") || typeof key !== "string" || typeof location !== "string") throw refuse("a malformed storage persistent id");
        if (view !== null) throw refuse("a storage view (legacy view_metadata)");
        const info = STORAGES[type.name.slice("torch.".length)];
        if (!info) throw refuse(`a storage of type ${type.name}`);
        stack.push({ kind: "storage", ...info, key, numel: int(numel ?? null, "a storage's size") });
        break;
      }
      case 0x52: {
        // REDUCE: only the three calls a state dict makes, evaluated here.
        const args = pop();
        const fn = pop();
        if (!isKind(fn, "global") || !isKind(args, "tuple")) throw refuse("REDUCE on something other than a whitelisted global");
        stack.push(reduce(fn.name, args.items));
        break;
      }
      case 0x62: {
        // BUILD: the state dict's `_metadata` attribute (module versions), which changes no weight.
        const state = pop();
        const obj = top();
        if (!isKind(obj, "dict") || !obj.ordered || !isKind(state, "dict")) throw refuse("BUILD on something other than an OrderedDict's attributes");
        break;
      }
      default:
        throw refuse(`opcode 0x${op.toString(16).padStart(2, "0")}${OPCODE_NAMES.has(op) ? ` (${OPCODE_NAMES.get(op)})` : ""} at byte ${p - 1}`);
    }
  }

  function reduce(name: string, args: Value[]): Value {
    if (name === ORDERED_DICT) {
      if (args.length !== 0) throw refuse("OrderedDict called with arguments");
      return { kind: "dict", entries: new Map(), ordered: true };
    }
    if (name === REBUILD_TENSOR) {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (args.length < 6 || args.length > 7) throw refuse(`_rebuild_tensor_v2 with ${args.length} arguments`);
      const [storage, offset, size, stride] = args;
      if (!isKind(storage, "storage")) throw refuse("_rebuild_tensor_v2 without a storage");
      const shape = ints(size!, "a tensor's size");
      const strides = ints(stride!, "a tensor's stride");
      if (shape.length !== strides.length) throw refuse("a tensor whose size and stride differ in length");
      return { kind: "tensor", storage, offset: int(offset!, "a storage offset"), shape, stride: strides };
    }
    if (name === REBUILD_PARAMETER) {
      // (data, requires_grad, backward_hooks): a tensor saved as an nn.Parameter.
      const [data] = args;
      if (!isKind(data, "tensor")) throw refuse("_rebuild_parameter without a tensor");
      return data;
    }
    throw refuse(`it calls ${name}`);
  }
}

/** The name → tensor map of an unpickled state dict, or a refusal naming what is not a tensor. */
export function stateDictOf(result: Value, source: string): Map<string, TensorRef> {
  const refuse = (why: string) => notAStateDict(source, why);
  if (!isKind(result, "dict")) throw refuse("the pickle is not a dict");
  const out = new Map<string, TensorRef>();
  for (const [key, value] of result.entries) {
    if (typeof key !== "string") throw refuse(`key ${key} is not a string`);
    if (!isKind(value, "tensor")) {
      const what = isKind(value, "dict")
        ? "a dict (a training checkpoint? save model.state_dict() alone)"
        : typeof value === "object" && value
          ? value.kind
          : String(value);
      throw refuse(`"${key}" is ${what}, not a tensor`);
    }
    out.set(key, value);
  }
  return out;
}
