import { describe, expect, it } from "vitest";
import { isCommitHash, isHubRef, parseHubRef } from "./model-ref.ts";

describe("parseHubRef", () => {
  it("reads owner/name and the revision, main when absent", () => {
    expect(parseHubRef("hf:uer/gpt2-chinese-cluecorpussmall")).toEqual({ repo: "uer/gpt2-chinese-cluecorpussmall", revision: "main" });
    expect(parseHubRef("hf:nghuyong/ernie-3.0-base-zh@v1.0")).toEqual({ repo: "nghuyong/ernie-3.0-base-zh", revision: "v1.0" });
    expect(parseHubRef("hf:a/b@refs/pr/3")).toEqual({ repo: "a/b", revision: "refs/pr/3" });
  });

  it("refuses names the Hub would not have and revisions that could leave refs/", () => {
    for (const bad of ["hf:just-a-name", "hf:a/b/c", "hf:a/-b", "hf:a/b--c", "hf:a/b..c", "hf:/b", "hf:a/b@", "hf:a/b@../../x", "hf:a/b@/etc", "hf:a/b@x y"]) {
      expect(() => parseHubRef(bad), bad).toThrow(/hf:owner\/name|is not a revision/);
    }
  });

  it("tells Hub names from folders and commits from branches", () => {
    expect(isHubRef("hf:a/b")).toBe(true);
    expect(isHubRef("./hf:a")).toBe(false);
    expect(isHubRef(".ranklab/models/policy-gpt2")).toBe(false);
    expect(isCommitHash("0123456789abcdef0123456789abcdef01234567")).toBe(true);
    expect(isCommitHash("main")).toBe(false);
  });
});
