import { mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../errors.ts";
import { corpusIdentity, isHeldOut, parseCorpusCsv, parseCsvRecords, readCorpusFiles, reviewOpening } from "./corpus-csv.ts";

describe("parseCsvRecords (RFC 4180)", () => {
  it("splits on commas and line breaks, LF or CRLF, and skips blank lines", () => {
    const records = parseCsvRecords("a,b\r\nc,d\n\ne,f", "t.csv");
    expect(records.map((r) => r.fields)).toEqual([
      ["a", "b"],
      ["c", "d"],
      ["e", "f"],
    ]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 4]);
  });

  it("keeps commas, doubled quotes and line breaks inside quotes, and counts the lines they span", () => {
    const records = parseCsvRecords('1,"好,很好"\n0,"他说""不行"""\n1,"第一行\n第二行"\n0,最后', "t.csv");
    expect(records.map((r) => r.fields)).toEqual([
      ["1", "好,很好"],
      ["0", '他说"不行"'],
      ["1", "第一行\n第二行"],
      ["0", "最后"],
    ]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 5]);
  });

  it("drops a leading byte-order mark and keeps an empty last field", () => {
    expect(parseCsvRecords("\uFEFFlabel,review\n1,\n", "t.csv").map((r) => r.fields)).toEqual([
      ["label", "review"],
      ["1", ""],
    ]);
  });

  it("names the file and line of a quote left open, text after a closing quote, or a quote inside an unquoted field", () => {
    expect(() => parseCsvRecords('1,ok\n0,"never closed\nstill', "open.csv")).toThrow(/^open\.csv:2: a quoted field is not closed/);
    expect(() => parseCsvRecords('1,ok\n1,ok\n0,"done"x', "after.csv")).toThrow(/^after\.csv:3: text after a closing quote/);
    expect(() => parseCsvRecords('1,ok\n0,say "hi"', "inner.csv")).toThrow(/^inner\.csv:2: a quote inside an unquoted field/);
    expect(() => parseCsvRecords('0,say "hi"', "inner.csv")).toThrow(UserError);
  });
});

describe("parseCorpusCsv", () => {
  it("reads `label,review` files", () => {
    const parsed = parseCorpusCsv('label,review\n1,很快，好吃\n0,"太慢了,凉了"\n', "waimai.csv");
    expect(parsed.columns).toBe("label,review");
    expect(parsed.reviews).toEqual([
      { text: "很快，好吃", label: 1 },
      { text: "太慢了,凉了", label: 0 },
    ]);
    expect(parsed.emptySkipped).toBe(0);
  });

  it("reads `cat,label,review` files and keeps the category", () => {
    const parsed = parseCorpusCsv("cat,label,review\r\n书籍,1,很有价值\r\n水果,0,坏了一半\r\n", "shop.csv");
    expect(parsed.columns).toBe("cat,label,review");
    expect(parsed.reviews).toEqual([
      { cat: "书籍", text: "很有价值", label: 1 },
      { cat: "水果", text: "坏了一半", label: 0 },
    ]);
  });

  it("skips empty and whitespace-only reviews and counts them", () => {
    const parsed = parseCorpusCsv('label,review\n1,\n0,"  "\n1,好\n0,""\n', "t.csv");
    expect(parsed.reviews).toEqual([{ text: "好", label: 1 }]);
    expect(parsed.emptySkipped).toBe(3);
  });

  it("refuses another header, naming what it found", () => {
    expect(() => parseCorpusCsv("text,score\n好,1\n", "other.csv")).toThrow(
      /^other\.csv:1: expected a header `label,review` or `cat,label,review`, found `text,score`/,
    );
    expect(() => parseCorpusCsv("", "empty.csv")).toThrow(/^empty\.csv:1: empty file/);
  });

  it("names the file and line of a row with the wrong number of fields or a bad label", () => {
    expect(() => parseCorpusCsv("label,review\n1,好\n0,有,逗号\n", "t.csv")).toThrow(/^t\.csv:3: 3 field\(s\) where the header `label,review` has 2/);
    expect(() => parseCorpusCsv("cat,label,review\n书籍,1,好\n书籍,差\n", "s.csv")).toThrow(/^s\.csv:3: 2 field\(s\)/);
    expect(() => parseCorpusCsv("label,review\n1,好\n\n2,好\n", "t.csv")).toThrow(/^t\.csv:4: label must be 0 or 1, got "2"/);
    // A multi-line review before it: the line is the file's line, not the record's number.
    expect(() => parseCorpusCsv('label,review\n1,"a\nb\nc"\npositive,好\n', "t.csv")).toThrow(/^t\.csv:5: label must be 0 or 1, got "positive"/);
  });
});

describe("readCorpusFiles and corpusIdentity", () => {
  const dir = mkdtempSync(join(tmpdir(), "ranklab-corpus-"));

  it("reads several files and says which one is malformed", () => {
    writeFileSync(join(dir, "a.csv"), "label,review\n1,好吃\n");
    writeFileSync(join(dir, "b.csv"), "label,review\n1,好吃\nx,不好吃\n");
    expect(readCorpusFiles([join(dir, "a.csv")])[0]!.reviews).toHaveLength(1);
    expect(() => readCorpusFiles([join(dir, "a.csv"), join(dir, "b.csv")])).toThrow(new RegExp(`^${join(dir, "b.csv")}:3: label`));
    expect(() => readCorpusFiles([join(dir, "missing.csv")])).toThrow(/cannot read corpus .*missing\.csv/);
  });

  it("changes when a file's content changes, not when only its time does", () => {
    const f = join(dir, "c.csv");
    writeFileSync(f, "label,review\n1,好吃\n");
    const first = corpusIdentity([f]);
    utimesSync(f, new Date(2020, 1, 1), new Date(2020, 1, 1));
    expect(corpusIdentity([f])).toEqual(first);
    writeFileSync(f, "label,review\n1,难吃\n");
    const second = corpusIdentity([f]);
    expect(second[0]!.bytes).toBe(first[0]!.bytes);
    expect(second[0]!.sha256).not.toBe(first[0]!.sha256);
    expect(() => corpusIdentity([join(dir, "nope.csv")])).toThrow(/corpus file not found/);
  });
});

describe("isHeldOut and reviewOpening", () => {
  it("splits by text, stably, near the fraction asked for", () => {
    const texts = Array.from({ length: 4000 }, (_, i) => `评论${i}号，还行`);
    const held = texts.filter((t) => isHeldOut(t, 0.1));
    expect(held.length).toBeGreaterThan(320);
    expect(held.length).toBeLessThan(480);
    expect(texts.filter((t) => isHeldOut(t, 0.1))).toEqual(held);
    expect(texts.filter((t) => isHeldOut(t, 0))).toHaveLength(0);
  });

  it("takes the opening up to the first comma when it is short, else the first characters", () => {
    expect(reviewOpening("很快，好吃，味道足，量大")).toBe("很快，");
    expect(reviewOpening("总的来说还不错。下次还来")).toBe("总的来说还不错");
    expect(reviewOpening("作为一名山西人我觉得这本书写得很好")).toBe("作为一名山西");
    expect(reviewOpening("好")).toBe("");
    expect(reviewOpening("送餐很快")).toBe("");
  });
});
