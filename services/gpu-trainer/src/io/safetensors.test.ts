import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";

const dir = mkdtempSync(join(tmpdir(), "st-"));

describe("safetensors", () => {
  it("round-trips float32 tensors and metadata", () => {
    const path = join(dir, "a.safetensors");
    const tensors = new Map([
      ["b.weight", { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -1e8]) }],
      ["a.bias", { shape: [1], data: Float32Array.from([0.25]) }],
    ]);
    writeSafetensors(path, tensors, { format: "pt", step: "7" });
    const read = readSafetensors(path);
    expect(read.metadata).toEqual({ format: "pt", step: "7" });
    expect(read.tensors.get("b.weight")).toEqual(tensors.get("b.weight"));
    expect(read.tensors.get("a.bias")).toEqual(tensors.get("a.bias"));
  });

  it("reads F16 and BF16 as float32", () => {
    const header = JSON.stringify({ h: { dtype: "F16", shape: [2], data_offsets: [0, 4] }, b: { dtype: "BF16", shape: [1], data_offsets: [4, 6] } });
    const buf = Buffer.alloc(8 + header.length + 6);
    buf.writeBigUInt64LE(BigInt(header.length));
    buf.write(header, 8);
    buf.writeUInt16LE(0x3c00, 8 + header.length); // 1.0 in F16
    buf.writeUInt16LE(0xc000, 10 + header.length); // -2.0 in F16
    buf.writeUInt16LE(0x3fc0, 12 + header.length); // 1.5 in BF16
    const path = join(dir, "half.safetensors");
    writeFileSync(path, buf);
    const { tensors } = readSafetensors(path);
    expect([...tensors.get("h")!.data]).toEqual([1, -2]);
    expect([...tensors.get("b")!.data]).toEqual([1.5]);
  });

  it("names the file when it is not safetensors", () => {
    const path = join(dir, "bad.safetensors");
    writeFileSync(path, "not a model");
    expect(() => readSafetensors(path)).toThrow(/bad\.safetensors: header length/);
    expect(() => readSafetensors(join(dir, "missing.safetensors"))).toThrow(/no such file/);
  });
});
