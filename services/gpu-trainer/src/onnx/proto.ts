/**
 * The few protobuf messages of onnx.proto that an exported model needs, encoded by
 * hand: a model file is a ModelProto, and writing one takes ~100 lines, where a
 * protobuf library and generated bindings would take a dependency and a build step.
 * Field numbers are onnx.proto's (ONNX IR version 8).
 */

export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array) {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  /** A varint; negative int64 values take ten bytes (two's complement), as protobuf specifies. */
  varint(value: number | bigint) {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v > 0n);
    this.push(Uint8Array.from(bytes));
  }

  tag(field: number, wire: 0 | 2 | 5) {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint) {
    this.tag(field, 0);
    this.varint(value);
  }

  bytes(field: number, value: Uint8Array) {
    this.tag(field, 2);
    this.varint(value.length);
    this.push(value);
  }

  string(field: number, value: string) {
    this.bytes(field, new TextEncoder().encode(value));
  }

  float(field: number, value: number) {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

const message = (build: (w: Writer) => void) => {
  const w = new Writer();
  build(w);
  return w.finish();
};

export interface TensorInit {
  name: string;
  dims: number[];
  dataType: (typeof DataType)[keyof typeof DataType];
  /** Little-endian raw bytes of the values. */
  raw: Uint8Array;
}

export type AttributeValue = number | string | number[] | { floats: number[] } | { int: number } | { tensor: TensorInit };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes?: Record<string, AttributeValue>;
}

export interface ValueInfo {
  name: string;
  dataType: (typeof DataType)[keyof typeof DataType];
  /** A number is a fixed size; a string names a dynamic axis ("batch"). */
  dims: (number | string)[];
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers: TensorInit[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

const tensorProto = (t: TensorInit) =>
  message((w) => {
    for (const d of t.dims) w.int(1, d);
    w.int(2, t.dataType);
    w.string(8, t.name);
    w.bytes(9, t.raw);
  });

function attributeProto(name: string, value: AttributeValue) {
  return message((w) => {
    w.string(1, name);
    if (typeof value === "number") {
      // Integers are INT; anything else FLOAT. Use { int } for an integral float.
      if (Number.isInteger(value)) {
        w.int(3, value);
        w.int(20, AttributeType.INT);
      } else {
        w.float(2, value);
        w.int(20, AttributeType.FLOAT);
      }
    } else if (typeof value === "string") {
      w.bytes(4, new TextEncoder().encode(value));
      w.int(20, AttributeType.STRING);
    } else if (Array.isArray(value)) {
      for (const v of value) w.int(8, v);
      w.int(20, AttributeType.INTS);
    } else if ("floats" in value) {
      for (const v of value.floats) w.float(7, v);
      w.int(20, AttributeType.FLOATS);
    } else if ("int" in value) {
      w.int(3, value.int);
      w.int(20, AttributeType.INT);
    } else {
      w.bytes(5, tensorProto(value.tensor));
      w.int(20, AttributeType.TENSOR);
    }
  });
}

const nodeProto = (n: NodeSpec) =>
  message((w) => {
    for (const i of n.inputs) w.string(1, i);
    for (const o of n.outputs) w.string(2, o);
    w.string(3, n.name);
    w.string(4, n.op);
    for (const [k, v] of Object.entries(n.attributes ?? {})) w.bytes(5, attributeProto(k, v));
  });

const valueInfoProto = (v: ValueInfo) =>
  message((w) => {
    w.string(1, v.name);
    const shape = message((s) => {
      for (const d of v.dims)
        s.bytes(
          1,
          message((dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d))),
        );
    });
    const tensorType = message((t) => {
      t.int(1, v.dataType);
      t.bytes(2, shape);
    });
    w.bytes(
      2,
      message((type) => type.bytes(1, tensorType)),
    );
  });

/** A complete ModelProto: IR version 8, the default ONNX domain at `opset`. */
export function encodeModel(graph: GraphSpec, opset: number, producer = "ranklab"): Uint8Array {
  const graphBytes = message((w) => {
    for (const n of graph.nodes) w.bytes(1, nodeProto(n));
    w.string(2, graph.name);
    for (const t of graph.initializers) w.bytes(5, tensorProto(t));
    for (const i of graph.inputs) w.bytes(11, valueInfoProto(i));
    for (const o of graph.outputs) w.bytes(12, valueInfoProto(o));
  });
  return message((w) => {
    w.int(1, 8);
    w.string(2, producer);
    w.bytes(7, graphBytes);
    w.bytes(
      8,
      message((o) => {
        o.string(1, "");
        o.int(2, opset);
      }),
    );
  });
}
