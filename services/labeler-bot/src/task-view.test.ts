import { describe, expect, it } from "vitest";
import { levelsOf } from "./session.ts";
import { parseCallback, renderTask } from "./task-view.ts";

describe("task messages and buttons", () => {
  it("parses only well-formed callback data", () => {
    expect(parseCallback("sc:abc123:5")).toEqual({ kind: "sc", taskId: "abc123", action: "5" });
    expect(parseCallback("rk:abc123:undo")).toEqual({ kind: "rk", taskId: "abc123", action: "undo" });
    for (const bad of ["", "sc:abc", "xx:abc:1", "sc:ABC:1", "sc:abc:1:2", `sc:${"a".repeat(20)}:1`]) expect(parseCallback(bad)).toBeUndefined();
  });

  it("shows a score task with 1–5 and Skip", () => {
    const view = renderTask({ id: "t1", kind: "score", promptText: "这部电影很", completionId: 7, completionText: "好看。" });
    expect(view.text).toContain("这部电影很好看。");
    expect(view.keyboard.inline_keyboard.flat().map((b) => ("callback_data" in b ? b.callback_data : ""))).toEqual([
      "sc:t1:1",
      "sc:t1:2",
      "sc:t1:3",
      "sc:t1:4",
      "sc:t1:5",
      "sc:t1:skip",
    ]);
  });

  it("shows a rank in progress: the order so far, the letters left, Undo; then Save", () => {
    const options = ["好", "中", "差", "很差"].map((text, i) => ({ id: i + 10, text }));
    const started = renderTask({ id: "r1", kind: "rank", promptId: 1, promptText: "味道", options, picked: [] });
    expect(started.keyboard.inline_keyboard).toHaveLength(1);
    const mid = renderTask({ id: "r1", kind: "rank", promptId: 1, promptText: "味道", options, picked: [2] });
    expect(mid.text).toContain("So far: C");
    expect(mid.keyboard.inline_keyboard[0]!.map((b) => b.text)).toEqual(["A", "B", "D"]);
    expect(mid.keyboard.inline_keyboard[1]!.map((b) => b.text)).toEqual(["= A", "= B", "= D"]);
    expect(mid.keyboard.inline_keyboard[1]!.map((b) => ("callback_data" in b ? b.callback_data : ""))).toEqual(["rk:r1:t0", "rk:r1:t1", "rk:r1:t3"]);
    expect(mid.keyboard.inline_keyboard[2]!.map((b) => b.text)).toEqual(["撤销 Undo"]);
    const done = renderTask({ id: "r1", kind: "rank", promptId: 1, promptText: "味道", options, picked: [2, 0, 3, 1] });
    expect(done.text).toContain("confirm: C > A > D > B");
    expect(done.keyboard.inline_keyboard[0]!.map((b) => b.text)).toEqual(["保存 Save", "撤销 Undo"]);
    expect(done.keyboard.inline_keyboard[1]!.map((b) => b.text)).toEqual(["B = D 一样好 equal"]);
  });

  it("shows ties as = in the order, and offers to untie the auto-placed last one", () => {
    const options = ["好", "中", "差", "很差"].map((text, i) => ({ id: i + 10, text }));
    const done = renderTask({ id: "r1", kind: "rank", promptId: 1, promptText: "味道", options, picked: [0, 1, 2, 3], ties: [false, true, false, true] });
    expect(done.text).toContain("confirm: A = B > C = D");
    expect(done.keyboard.inline_keyboard[1]!.map((b) => ("callback_data" in b ? b.callback_data : ""))).toEqual(["rk:r1:tl"]);
    expect(done.keyboard.inline_keyboard[1]![0]!.text).toBe("D 不一样好 not equal");
    expect(levelsOf([false, true, false, true], 4)).toEqual([0, 0, 1, 1]);
    expect(levelsOf([], 4)).toEqual([0, 1, 2, 3]);
  });
});
