import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select-backend.ts";
import { prepare } from "../prepare/prepare.ts";

const MAIN = resolve(import.meta.dirname, "main.ts");
const TSX = resolve(import.meta.dirname, "../../../../node_modules/.bin/tsx");
const SESSION = `ranklab-human-${process.pid}`;

const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", SESSION);

/** Waits until the pane shows `pattern` `count` times (the terminal is the only interface). */
async function waitFor(pattern: RegExp, count = 1, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if ((text.match(new RegExp(pattern.source, "g")) ?? []).length >= count) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} ×${count}; the screen shows:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const type = (text: string) => {
  if (text) tmux("send-keys", "-t", SESSION, "-l", text);
  tmux("send-keys", "-t", SESSION, "Enter");
};

describe("ppo human, driven through a real terminal (tmux)", () => {
  const home = mkdtempSync(join(tmpdir(), "ranklab-human-"));
  const labels = join(home, "labels.jsonl");
  const out = join(home, "policy-out");

  beforeAll(async () => {
    await selectBackend("wasm");
    const prepared = await prepare(
      {
        home,
        reviews: 200,
        policy: { n_embd: 16, n_layer: 1, n_head: 2, train: { epochs: 1, maxLength: 32 } },
        classifier: { hidden_size: 16, layers: 1, heads: 2, train: { epochs: 1, maxLength: 32 } },
        quiet: true,
      },
      () => {},
    );
    const command = [
      TSX,
      MAIN,
      "ppo",
      "human",
      "--policy",
      prepared.policyDir,
      "--home",
      home,
      "--labels",
      labels,
      "--out",
      out,
      "--logs-dir",
      join(home, "logs"),
      "--batch-size",
      "2",
      "--mini-batch-size",
      "1",
      "--max-new-tokens",
      "6",
      "--engine",
      "tfjs",
    ];
    tmux("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50", command.map((a) => `'${a}'`).join(" ") + "; echo EXITED $?; sleep 30");
  }, 120_000);
  afterAll(() => {
    try {
      tmux("kill-session", "-t", SESSION);
    } catch {
      /* already gone */
    }
  });

  it("re-asks on bad input, skips with s, trains on typed scores, and saves on q", async () => {
    await waitFor(/score 0\.0–1\.0 \(s skip, q save and quit\):/);
    type("abc");
    await waitFor(/"abc" is not a number/);
    type("7");
    await waitFor(/7 is outside 0\.0–1\.0/);
    type("");
    await waitFor(/Please type a number from 0\.0 to 1\.0, s to skip or q to save and quit\./);
    type("0.8");
    await waitFor(/\[2\/2\]/);
    type("s");
    await waitFor(/batch mean reward: 0\.800 \(1 scored, 1 skipped\)/);
    await waitFor(/epoch 1 mean-reward: 0\.8000/);
    await waitFor(/\[1\/2\]/, 2);
    type("1");
    await waitFor(/\[2\/2\]/, 2);
    type("q");
    const final = await waitFor(/EXITED \d+/);
    expect(final).toMatch(/epoch 2 mean-reward: 1\.0000/);
    expect(final).toMatch(/stopping: the rater asked to save and quit/);
    expect(final).toMatch(/EXITED 0/);
    const rows = readFileSync(labels, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.score, r.typed])).toEqual([
      [0.8, "0.8"],
      [1, "1"],
    ]);
    expect(rows[0].response.length).toBeGreaterThan(0);
    expect(existsSync(join(out, "model.safetensors"))).toBe(true);
  }, 120_000);
});
