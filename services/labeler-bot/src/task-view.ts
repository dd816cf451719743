import type { InlineKeyboardMarkup } from "telegraf/types";
import type { CurrentTask } from "./session.ts";
import { LETTERS } from "./texts.ts";

/** Callback data: `<kind>:<task id>:<action>`; well under Telegram's 64 bytes. */
export function parseCallback(data: string): { kind: "sc" | "rk"; taskId: string; action: string } | undefined {
  const m = /^(sc|rk):([a-z0-9]{1,12}):([\w]{1,8})$/.exec(data);
  return m ? { kind: m[1] as "sc" | "rk", taskId: m[2]!, action: m[3]! } : undefined;
}

const button = (text: string, data: string) => ({ text, callback_data: data });

/** The message and keyboard for a task, as it stands (a rank shows the order so far). */
export function renderTask(task: CurrentTask): { text: string; keyboard: InlineKeyboardMarkup } {
  if (task.kind === "score") {
    return {
      text: `打分 Score (1–5, 5 最好 best)\n\n提示 Prompt: ${task.promptText}\n续写 Continuation: ${task.promptText}${task.completionText}`,
      keyboard: {
        inline_keyboard: [[1, 2, 3, 4, 5].map((n) => button(String(n), `sc:${task.id}:${n}`)), [button("跳过 Skip", `sc:${task.id}:skip`)]],
      },
    };
  }
  const lines = task.options.map((o, i) => `${LETTERS[i]}. ${task.promptText}${o.text}`);
  const ties = task.ties ?? [];
  // "A > B = C > D": = joins a place that is as good as the one before it.
  const order = task.picked.map((i, k) => (k === 0 ? "" : ties[k] ? " = " : " > ") + LETTERS[i]).join("");
  const done = task.picked.length === task.options.length;
  const header = done
    ? `排序完成，请确认 Ranking complete; confirm: ${order}`
    : `排序 Rank: 点出剩下的里最好的一条；一样好就点「= X」tap the best of those left; "= X" if it is as good as the previous${order ? `\n目前 So far: ${order}` : ""}`;
  const left = task.options.map((_, i) => i).filter((i) => !task.picked.includes(i));
  const last = task.picked.at(-1);
  const rows = done
    ? [
        [button("保存 Save", `rk:${task.id}:save`), button("撤销 Undo", `rk:${task.id}:undo`)],
        // The last place is filled for the rater; whether it ties with the one before is still theirs to say.
        [
          button(
            ties[task.picked.length - 1]
              ? `${LETTERS[last!]} 不一样好 not equal`
              : `${LETTERS[last!]} = ${LETTERS[task.picked[task.picked.length - 2]!]} 一样好 equal`,
            `rk:${task.id}:tl`,
          ),
        ],
      ]
    : [
        left.map((i) => button(LETTERS[i]!, `rk:${task.id}:${i}`)),
        ...(task.picked.length > 0 ? [left.map((i) => button(`= ${LETTERS[i]}`, `rk:${task.id}:t${i}`))] : []),
        ...(task.picked.length > 0 ? [[button("撤销 Undo", `rk:${task.id}:undo`)]] : []),
      ];
  return { text: `${header}\n\n提示 Prompt: ${task.promptText}\n\n${lines.join("\n")}`, keyboard: { inline_keyboard: rows } };
}
