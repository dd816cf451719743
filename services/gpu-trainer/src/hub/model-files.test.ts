import { describe, expect, it } from "vitest";
import { modelFilesToDownload } from "./model-files.ts";

const f = (path: string, size = 10) => ({ path, size });

describe("modelFilesToDownload", () => {
  it("takes config, one weights file (safetensors first) and the tokenizer, and skips the rest", () => {
    const repo = [
      f("config.json"),
      f("pytorch_model.bin", 400),
      f("model.safetensors", 400),
      f("flax_model.msgpack", 400),
      f("tf_model.h5", 400),
      f("vocab.txt"),
      f("tokenizer_config.json"),
      f("special_tokens_map.json"),
      f("README.md"),
      f(".gitattributes"),
    ];
    expect(modelFilesToDownload("hf:a/b", repo).map((x) => x.path)).toEqual([
      "config.json",
      "model.safetensors",
      "vocab.txt",
      "tokenizer_config.json",
      "special_tokens_map.json",
    ]);
  });

  it("falls back to pytorch_model.bin, as uer/gpt2-chinese-cluecorpussmall ships it, and keeps a ranklab reward scale", () => {
    const repo = [f("config.json"), f("pytorch_model.bin", 400), f("vocab.txt"), f("metrics.json")];
    expect(modelFilesToDownload("hf:a/b", repo).map((x) => x.path)).toEqual(["config.json", "pytorch_model.bin", "vocab.txt", "metrics.json"]);
  });

  it("says what is missing before anything is downloaded", () => {
    expect(() => modelFilesToDownload("hf:a/b", [f("model.safetensors"), f("vocab.txt")])).toThrow(/hf:a\/b: the repository has no config\.json/);
    expect(() => modelFilesToDownload("hf:a/b", [f("config.json"), f("vocab.txt")])).toThrow(/no model\.safetensors or pytorch_model\.bin/);
    expect(() => modelFilesToDownload("hf:a/b", [f("config.json"), f("model.safetensors.index.json"), f("vocab.txt")])).toThrow(/sharded/);
    expect(() => modelFilesToDownload("hf:a/b", [f("config.json"), f("model.safetensors")])).toThrow(/no vocab\.txt or tokenizer\.json/);
  });
});
