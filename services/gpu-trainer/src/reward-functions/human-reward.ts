import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { RewardFunction } from "./reward-function.ts";

export type HumanScale = "0-1" | "1-5";

export interface HumanRewardOptions {
  input: Readable;
  output: Writable;
  /** 0.0–1.0 as typed, or 1–5 stars mapped to (stars − 1) / 4. */
  scale: HumanScale;
  /** Every score is appended here (JSONL) the moment it is typed, so no human work is lost if training crashes. */
  labelsFile: string;
  /** Written beside each label: which policy made the text. */
  policy: string;
  /** Also sends each label elsewhere (the API), after it is safe in the file. */
  forward?: (label: HumanLabel) => Promise<void>;
}

export interface HumanLabel {
  time: string;
  prompt: string;
  response: string;
  score: number;
  typed: string;
  scale: HumanScale;
  policy: string;
}

/** A reward typed by a person; NaN marks a skipped sample. */
export interface HumanReward extends RewardFunction {
  /** True once the person typed `q` (or closed the input): save and stop after this batch. */
  readonly stopRequested: boolean;
}

/** What a typed answer means: a score, a skip, a quit, or a reason to ask again. */
export function parseAnswer(typed: string, scale: HumanScale): { score: number } | { skip: true } | { quit: true } | { error: string } {
  const t = typed.trim().toLowerCase();
  if (t === "s") return { skip: true };
  if (t === "q") return { quit: true };
  const help = scale === "0-1" ? "a number from 0.0 to 1.0" : "a whole number from 1 to 5";
  if (t === "") return { error: `Please type ${help}, s to skip or q to save and quit.` };
  const v = Number(t);
  if (!Number.isFinite(v)) return { error: `"${typed.trim()}" is not a number. Please type ${help}, s to skip or q to save and quit.` };
  if (scale === "0-1") return v >= 0 && v <= 1 ? { score: v } : { error: `${v} is outside 0.0–1.0. Please type ${help}.` };
  return Number.isInteger(v) && v >= 1 && v <= 5 ? { score: (v - 1) / 4 } : { error: `${v} is not one of 1, 2, 3, 4, 5. Please type ${help}.` };
}

/** The seed's step 2: a person scores each continuation in the terminal. */
export function humanReward(options: HumanRewardOptions): HumanReward {
  const rl = createInterface({ input: options.input, output: options.output, terminal: false });
  const lines: string[] = [];
  const waiting: ((line: string | null) => void)[] = [];
  let closed = false;
  rl.on("line", (line) => (waiting.length > 0 ? waiting.shift()!(line) : lines.push(line)));
  rl.on("close", () => {
    closed = true;
    while (waiting.length > 0) waiting.shift()!(null);
  });
  const nextLine = () => new Promise<string | null>((resolve) => (lines.length > 0 ? resolve(lines.shift()!) : closed ? resolve(null) : waiting.push(resolve)));
  const say = (text: string) => options.output.write(text);
  mkdirSync(dirname(options.labelsFile), { recursive: true });
  let stop = false;
  const range = options.scale === "0-1" ? "0.0–1.0" : "1–5";

  return {
    name: `a person at the terminal (scores ${range}, labels in ${options.labelsFile})`,
    get stopRequested() {
      return stop;
    },
    async score(batch) {
      const scores: number[] = [];
      for (const [i, g] of batch.entries()) {
        if (stop) {
          scores.push(Number.NaN);
          continue;
        }
        say(`\n[${i + 1}/${batch.length}] ${g.prompt}\x1b[1m${g.response}\x1b[0m\n`);
        for (;;) {
          say(`score ${range} (s skip, q save and quit): `);
          const typed = await nextLine();
          // Closed input (Ctrl-D) is a quit: nothing typed so far is lost.
          const answer = typed === null ? ({ quit: true } as const) : parseAnswer(typed, options.scale);
          if ("error" in answer) {
            say(`${answer.error}\n`);
            continue;
          }
          if ("quit" in answer) {
            stop = true;
            scores.push(Number.NaN);
          } else if ("skip" in answer) {
            scores.push(Number.NaN);
          } else {
            const label: HumanLabel = {
              time: new Date().toISOString(),
              prompt: g.prompt,
              response: g.response,
              score: answer.score,
              typed: typed!.trim(),
              scale: options.scale,
              policy: options.policy,
            };
            appendFileSync(options.labelsFile, `${JSON.stringify(label)}\n`);
            await options.forward?.(label);
            scores.push(answer.score);
          }
          break;
        }
      }
      const scored = scores.filter(Number.isFinite);
      say(
        scored.length > 0
          ? `batch mean reward: ${(scored.reduce((a, b) => a + b, 0) / scored.length).toFixed(3)} (${scored.length} scored, ${scores.length - scored.length} skipped)\n`
          : "no scores in this batch\n",
      );
      return scores;
    },
    async close() {
      rl.close();
    },
  };
}
