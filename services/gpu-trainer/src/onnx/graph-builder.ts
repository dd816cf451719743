import { DataType, encodeModel, type AttributeValue, type NodeSpec, type TensorInit, type ValueInfo } from "./proto.ts";
import { activationForm, type Activation } from "../models/layers.ts";

/** ONNX opset 17: LayerNormalization is a standard op from 17 on. */
export const OPSET = 17;

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

/**
 * Builds an ONNX graph op by op: each call adds a node and returns the name of its
 * output, so exporters read like the tfjs forward passes they mirror.
 */
export class GraphBuilder {
  private nodes: NodeSpec[] = [];
  private initializers: TensorInit[] = [];
  private counter = 0;
  private constants = new Map<string, string>();
  /** Values renamed by outputInPlace: later uses of the old name read the new one. */
  private aliases = new Map<string, string>();

  constructor(private readonly name: string) {}

  private fresh(op: string) {
    return `${op}_${this.counter++}`;
  }

  op(op: string, inputs: string[], attributes?: Record<string, AttributeValue>, outputs = 1): string[] {
    const name = this.fresh(op);
    const outs = Array.from({ length: outputs }, (_, i) => `${name}_out${i}`);
    this.nodes.push({ op, inputs: inputs.map((i) => this.aliases.get(i) ?? i), outputs: outs, name, ...(attributes ? { attributes } : {}) });
    return outs;
  }

  /** One-output op. */
  o(op: string, inputs: string[], attributes?: Record<string, AttributeValue>): string {
    return this.op(op, inputs, attributes)[0]!;
  }

  /** Renames a value to a graph output name. */
  output(value: string, name: string): void {
    this.nodes.push({ op: "Identity", inputs: [this.aliases.get(value) ?? value], outputs: [name], name: this.fresh("Identity") });
  }

  /**
   * Makes a node's output a graph output under `name` without an Identity (which
   * onnxruntime runs as a copy: for training graphs that return every activation and
   * gradient, hundreds of MB a step). Later uses of `value` read the new name. Falls back
   * to output() for a graph input, an initializer or a value already renamed.
   */
  outputInPlace(value: string, name: string): void {
    const index = this.nodes.findIndex((n) => n.outputs.includes(value));
    if (index < 0 || this.aliases.has(value)) {
      this.output(value, name);
      return;
    }
    const node = this.nodes[index]!;
    this.nodes[index] = { ...node, outputs: node.outputs.map((o) => (o === value ? name : o)) };
    this.nodes = this.nodes.map((n) => (n.inputs.includes(value) ? { ...n, inputs: n.inputs.map((i) => (i === value ? name : i)) } : n));
    this.aliases.set(value, name);
  }

  float(name: string, data: Float32Array, dims: number[]): string {
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, raw: bytesOf(data) });
    return name;
  }

  /** An int64 constant, shared between uses. */
  ints(values: number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join("x")}:${values.join(",")}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `const_${this.constants.size}_i64`;
      this.initializers.push({ name, dims, dataType: DataType.INT64, raw: bytesOf(BigInt64Array.from(values.map(BigInt))) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** A float scalar constant, shared between uses. */
  scalar(value: number): string {
    const key = `f32:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `const_${this.constants.size}_f32`;
      this.initializers.push({ name, dims: [], dataType: DataType.FLOAT, raw: bytesOf(Float32Array.of(value)) });
      this.constants.set(key, name);
    }
    return name;
  }

  encode(inputs: ValueInfo[], outputs: ValueInfo[]): Uint8Array {
    return encodeModel({ name: this.name, nodes: this.nodes, initializers: this.initializers, inputs, outputs }, OPSET);
  }
}

/** [rows, cols] → [cols, rows], to store PyTorch's [out, in] linear weights as ONNX MatMul's [in, out]. */
export function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** The activations ranklab computes (models/layers.ts: erf GELU, tanh GELU, ReLU), as ONNX ops on `x`. */
export function onnxActivation(g: GraphBuilder, kind: Activation, x: string): string {
  const form = activationForm(kind);
  if (form === "relu") return g.o("Relu", [x]);
  const half = g.o("Mul", [x, g.scalar(0.5)]);
  if (form === "erf") return g.o("Mul", [half, g.o("Add", [g.scalar(1), g.o("Erf", [g.o("Mul", [x, g.scalar(Math.SQRT1_2)])])])]);
  const inner = g.o("Mul", [g.scalar(Math.sqrt(2 / Math.PI)), g.o("Add", [x, g.o("Mul", [g.scalar(0.044715), g.o("Pow", [x, g.scalar(3)])])])]);
  return g.o("Mul", [half, g.o("Add", [g.scalar(1), g.o("Tanh", [inner])])]);
}
