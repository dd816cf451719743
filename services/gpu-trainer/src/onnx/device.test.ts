import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../cli/main.ts";
import { UserError } from "../errors.ts";
import { saveBertDir } from "../io/bert-dir.ts";
import { BertConfigSchema, bertParamSpecs } from "../models/bert.ts";
import { disposeParams, initParams } from "../models/params.ts";
import { vocabFromTokens } from "../tokenizer/vocab.ts";
import { WordPieceTokenizer } from "../tokenizer/wordpiece.ts";
import { OnnxBertScorer } from "./bert-session.ts";
import { cudaProviderInstalled, ortDevice, useOrtDevice } from "./device.ts";
import { exportBertOnnx } from "./export-bert.ts";
import { ortSessionOptions } from "./session-options.ts";

const dir = mkdtempSync(join(tmpdir(), "ranklab-device-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => useOrtDevice("cpu"));

// These machines have no GPU and onnxruntime-node's npm package ships no CUDA provider; on a host
// that has it (the container), the refusals below do not apply.
describe.skipIf(cudaProviderInstalled())("onnxruntime device", () => {
  it("refuses cuda at once where its provider is missing, saying how to get it", () => {
    expect(() => useOrtDevice("cuda")).toThrow(UserError);
    expect(() => useOrtDevice("cuda")).toThrow(/CUDA provider is not installed.*ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci/);
    expect(ortDevice()).toBe("cpu");
    expect(() => useOrtDevice("tpu" as never)).toThrow(/device must be one of cpu, cuda, got "tpu"/);
  });

  it("passes the device to onnxruntime's sessions: asked for cuda, onnxruntime itself fails and the error names the device", async () => {
    const tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "好", "差"];
    const config = BertConfigSchema.parse({
      vocab_size: tokens.length,
      hidden_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 16,
      max_position_embeddings: 8,
      num_labels: 1,
    });
    const model = { config, tokenizer: new WordPieceTokenizer(vocabFromTokens(tokens, "t")), params: initParams(bertParamSpecs(config), 1) };
    saveBertDir(dir, model);
    exportBertOnnx(dir, model);
    expect(ortSessionOptions().executionProviders).toEqual(["cpu"]);
    const cpu = await OnnxBertScorer.open(dir, model);
    await cpu.close();

    useOrtDevice("cuda", { check: false });
    expect(ortSessionOptions().executionProviders).toEqual(["cuda", "cpu"]);
    await expect(OnnxBertScorer.open(dir, model)).rejects.toThrow(
      /device cuda: onnxruntime could not start a session \(.+\); onnxruntime-node's CUDA provider/,
    );
    disposeParams(model.params);
  });

  it("the CLI's --device cuda exits 2 with the fix before any work", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(await main(["--device", "cuda", "backend"])).toBe(2);
      expect(errors.mock.calls.flat().join("\n")).toMatch(/error: device cuda: onnxruntime-node's CUDA provider is not installed/);
      expect(await main(["--device=gpu", "backend"])).toBe(2);
      expect(errors.mock.calls.flat().join("\n")).toMatch(/--device must be one of cpu, cuda, got "gpu"/);
    } finally {
      errors.mockRestore();
    }
  });
});
