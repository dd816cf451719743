import type { LocalBotApi } from "./bot-api-server.ts";

export interface ChatMessage {
  messageId: number;
  text: string;
  /** Inline keyboard buttons, rows of {text, data}. */
  keyboard: { text: string; data: string }[][];
}

/**
 * A Telegram user on the local Bot API server: sends commands and taps buttons
 * as a person would, and reads the chat as it stands (edits included). Tests drive
 * it step by step; `npm start` lets a few of them label on their own.
 */
export class LocalRater {
  private readonly client;

  constructor(
    private readonly local: LocalBotApi,
    botToken: string,
    readonly userId: number,
    readonly name: string,
  ) {
    this.client = local.server.getClient(botToken, { userId, chatId: userId, firstName: name, userName: name.toLowerCase(), timeout: 10_000 });
  }

  async command(text: string): Promise<void> {
    await this.client.sendCommand(this.client.makeCommand(text));
  }

  async say(text: string): Promise<void> {
    await this.client.sendMessage(this.client.makeMessage(text));
  }

  /** Taps a button of a message (its callback data). */
  async tap(messageId: number, data: string): Promise<void> {
    await this.client.sendCallback(this.client.makeCallbackQuery(data, { message: { message_id: messageId } }));
  }

  /** The bot's messages in this chat, oldest first, as currently shown (after edits). */
  messages(): ChatMessage[] {
    return this.local.server.storage.botMessages
      .filter((u) => String(u.message.chat_id) === String(this.userId))
      .map((u) => {
        const markup = u.message.reply_markup as { inline_keyboard?: { text: string; callback_data?: string }[][] } | string | undefined;
        const parsed = typeof markup === "string" ? (JSON.parse(markup) as { inline_keyboard?: { text: string; callback_data?: string }[][] }) : markup;
        return {
          messageId: Number(u.messageId),
          text: String(u.message.text),
          keyboard: (parsed?.inline_keyboard ?? []).map((row) => row.map((b) => ({ text: b.text, data: b.callback_data ?? "" }))),
        };
      });
  }

  last(): ChatMessage | undefined {
    return this.messages().at(-1);
  }

  /** Waits until `check` finds what it looks for in the chat. */
  async waitFor<T>(check: (messages: ChatMessage[]) => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check(this.messages());
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`${this.name}: timed out waiting for ${what}; the chat shows:\n${this.messages().map((m) => `#${m.messageId} ${m.text}`).join("\n---\n")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits for the task message to show a different task than `previousText`. */
  waitForTask(previousText?: string) {
    return this.waitFor((ms) => {
      const task = [...ms].reverse().find((m) => m.keyboard.length > 0 || m.text.startsWith("目前没有新任务"));
      return task && task.text !== previousText ? task : undefined;
    }, "a task");
  }
}

const POSITIVE = /好|满意|喜欢|棒|推荐|精彩|不错|舒适|干净|快|值|惊喜/g;
const NEGATIVE = /差|失望|烂|慢|贵|脏|难|后悔|无聊|坑|不推荐/g;
/** A simulated rater's taste: positive words up, negative words down. */
export const liking = (text: string) => (text.match(POSITIVE)?.length ?? 0) - (text.match(NEGATIVE)?.length ?? 0);

/**
 * Answers tasks the way a consistent person would, until `stop()` or no tasks are left:
 * scores by liking (1–5), ranks by liking, best first.
 */
export async function labelAutomatically(rater: LocalRater, options: { maxTasks?: number; log?: (line: string) => void; shouldStop?: () => boolean; pauseMs?: number } = {}): Promise<number> {
  let done = 0;
  let task = await rater.waitForTask();
  while (!options.shouldStop?.() && done < (options.maxTasks ?? Infinity) && task.keyboard.length > 0) {
    const before = task.text;
    if (task.text.startsWith("打分")) {
      const continuation = /续写 Continuation: (.*)$/m.exec(task.text)?.[1] ?? "";
      const stars = Math.max(1, Math.min(5, 3 + liking(continuation)));
      await rater.tap(task.messageId, task.keyboard[0]![stars - 1]!.data);
    } else {
      // Rank: tap the most liked of those left until the order is complete, then save.
      for (;;) {
        const current = rater.messages().find((m) => m.messageId === task.messageId)!;
        const save = current.keyboard.flat().find((b) => b.data.endsWith(":save"));
        if (save) {
          await rater.tap(task.messageId, save.data);
          break;
        }
        const options2 = [...current.text.matchAll(/^([A-H])\. (.*)$/gm)].map((m) => ({ letter: m[1]!, text: m[2]! }));
        const left = current.keyboard[0]!.filter((b) => /^[A-H]$/.test(b.text));
        const best = left.map((b) => ({ b, score: liking(options2.find((o) => o.letter === b.text)?.text ?? "") })).sort((x, y) => y.score - x.score)[0]!.b;
        const shown = current.text;
        await rater.tap(task.messageId, best.data);
        await rater.waitFor((ms) => ms.find((m) => m.messageId === task.messageId && m.text !== shown), "the rank to advance");
      }
    }
    done++;
    options.log?.(`${rater.name} labeled task ${done}`);
    if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    task = await rater.waitForTask(before);
  }
  return done;
}
