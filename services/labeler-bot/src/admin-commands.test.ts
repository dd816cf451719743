import type { RaterQuality, RaterQualityReport } from "@ranklab/api";
import { describe, expect, it } from "vitest";
import { parseRaterArg, reliabilityTable } from "./admin-commands.ts";

const row = (raterId: number, reliability: number | null, extra: Partial<RaterQuality> = {}): RaterQuality => ({
  raterId,
  displayName: `r${raterId}`,
  role: "rater",
  blocked: false,
  reliability,
  reliabilityWeight: null,
  judgements: null,
  goldJudgements: null,
  heldOutAccuracy: null,
  heldOutPairs: null,
  ...extra,
});
const report = (raters: RaterQuality[]): RaterQualityReport => ({
  checkpointId: 4,
  version: 3,
  modelRaterTau: 0.4,
  raterRaterTau: 0.5,
  sharedPairs: 20,
  raters,
});

describe("the admin's reliability table", () => {
  it("shows the least and the most reliable raters of a large crowd, with blocked marks, and counts the unrated", () => {
    // As the API sends them: least reliable first, raters without an estimate last.
    const raters = [0.41, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97].map((p, i) =>
      row(i + 1, p, i === 0 ? { blocked: true, judgements: 120, goldJudgements: 12, heldOutAccuracy: 0.5, heldOutPairs: 10 } : {}),
    );
    const text = reliabilityTable(report([...raters, row(20, null), row(21, null)]));
    const lines = text.split("\n");
    expect(lines[0]).toBe("可靠性 Rater reliability (reward model v3), 10 raters, 1 blocked:");
    expect(lines[1]).toBe("最低 Least reliable:");
    expect(lines[2]).toBe("#1 r1: 0.41 (120 判断 judgements, 12 gold; 模型一致 model agrees 50% of 10) ⛔ 已停用 blocked");
    expect(lines.slice(3, 5)).toEqual(["#2 r2: 0.55", "#3 r3: 0.60"]);
    expect(lines[5]).toBe("最高 Most reliable:");
    expect(lines.slice(6, 9)).toEqual(["#6 r6: 0.90", "#7 r7: 0.95", "#8 r8: 0.97"]);
    expect(text).not.toContain("#4 ");
    expect(text).toContain("暂无估计 No estimate yet: 2 raters");
    expect(lines.at(-1)).toContain("/block <id>");
  });

  it("lists a small crowd whole, and says so when no checkpoint has estimates", () => {
    const text = reliabilityTable(
      report([row(5, 0.6, { role: "admin" }), row(6, 0.9, { displayName: "一个很长很长很长很长很长很长很长很长很长很长很长的名字" })]),
    );
    expect(text).toContain("#5 r5: 0.60 · admin");
    expect(text).toMatch(/#6 一个很长.*…: 0\.90/);
    expect(text).not.toContain("最低");
    const empty = reliabilityTable({ ...report([row(5, null)]), checkpointId: null, version: null });
    expect(empty).toContain("No reliability estimates yet");
    expect(empty.split("\n")[0]).toBe("可靠性 Rater reliability, 1 raters, 0 blocked:");
  });

  it("reads a rater id from /block's argument and nothing else", () => {
    expect(parseRaterArg("12")).toBe(12);
    expect(parseRaterArg(" #7 ")).toBe(7);
    for (const bad of ["", "abc", "0", "-3", "1 2", "12x", "1e3", "9999999999999999"]) expect(parseRaterArg(bad)).toBeUndefined();
  });
});
