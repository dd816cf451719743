import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tarDir, tarDirToFile, untarFile, untarTo } from "./tar.ts";

describe("checkpoint archives", () => {
  const src = mkdtempSync(join(tmpdir(), "ranklab-tar-"));
  writeFileSync(join(src, "config.json"), '{"a": 1}\n');
  writeFileSync(join(src, "model.safetensors"), Buffer.alloc(1300, 7));
  writeFileSync(join(src, "vocab.txt"), "[PAD]\n[UNK]\n好\n");

  it("round-trips a folder", () => {
    const out = mkdtempSync(join(tmpdir(), "ranklab-untar-"));
    expect(untarTo(tarDir(src), out)).toEqual(["config.json", "model.safetensors", "vocab.txt"]);
    for (const f of ["config.json", "model.safetensors", "vocab.txt"]) expect(readFileSync(join(out, f))).toEqual(readFileSync(join(src, f)));
  });

  it("is a real tar archive (GNU tar lists it)", () => {
    const file = join(mkdtempSync(join(tmpdir(), "ranklab-tarf-")), "c.tar");
    writeFileSync(file, tarDir(src));
    expect(execFileSync("tar", ["tf", file], { encoding: "utf8" }).trim().split("\n")).toEqual(["config.json", "model.safetensors", "vocab.txt"]);
  });

  it("refuses entries that would leave the folder, and truncated archives", () => {
    const bytes = tarDir(src);
    const evil = bytes.slice();
    evil.set(new TextEncoder().encode("../x\0\0\0\0\0\0\0"), 0);
    expect(() => untarTo(evil, mkdtempSync(join(tmpdir(), "e-")), "evil.tar")).toThrow(/evil\.tar: refusing entry "\.\.\/x"/);
    expect(() => untarTo(bytes.subarray(0, 700), mkdtempSync(join(tmpdir(), "t-")), "cut.tar")).toThrow(/cut\.tar: not a valid tar archive/);
  });

  it("writes and reads archives on disk a chunk at a time, byte for byte as tarDir", () => {
    // A file over the 4 MiB copy chunk and not a multiple of 512, so chunking and padding both show.
    const big = mkdtempSync(join(tmpdir(), "ranklab-tarbig-"));
    const weights = Buffer.alloc(9 * 1024 * 1024 + 77);
    for (let i = 0; i < weights.length; i++) weights[i] = (i * 131 + (i >> 13)) & 0xff;
    writeFileSync(join(big, "model.safetensors"), weights);
    writeFileSync(join(big, "config.json"), '{"n_layer": 12}\n');
    const file = join(mkdtempSync(join(tmpdir(), "ranklab-tarf-")), "c.tar");
    expect(tarDirToFile(big, file)).toBe(statSync(file).size);
    expect(readFileSync(file).equals(tarDir(big))).toBe(true);
    const out = mkdtempSync(join(tmpdir(), "ranklab-untarf-"));
    expect(untarFile(file, out)).toEqual(["config.json", "model.safetensors"]);
    expect(readFileSync(join(out, "model.safetensors")).equals(weights)).toBe(true);

    const evil = readFileSync(file);
    evil.set(new TextEncoder().encode("../x\0\0\0\0\0\0\0"), 0);
    writeFileSync(file, evil);
    expect(() => untarFile(file, mkdtempSync(join(tmpdir(), "e-")), "evil.tar")).toThrow(/evil\.tar: refusing entry "\.\.\/x"/);
    writeFileSync(file, tarDir(big).subarray(0, 5 * 1024 * 1024));
    expect(() => untarFile(file, mkdtempSync(join(tmpdir(), "t-")), "cut.tar")).toThrow(/cut\.tar: not a valid tar archive/);
  });
});
