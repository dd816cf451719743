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
      if (Date.now() > deadline) {
        // First line for a log (who, what, the last message in short); the whole chat below it for a test's failure.
        const chat = this.messages();
        const last = chat.at(-1);
        const lastShort = last ? ` (last message #${last.messageId}: ${JSON.stringify(last.text.replace(/\s+/g, " ").slice(0, 80))})` : "";
        throw new Error(
          `${this.name} timed out waiting for ${what} after ${timeoutMs / 1000} s${lastShort}\nthe chat shows:\n${chat.map((m) => `#${m.messageId} ${m.text}`).join("\n---\n")}`,
        );
      }
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

/** FNV-1a of a string, for noise that is the same every time a rater sees a text. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** A standard normal draw fixed by `key` (Box–Muller on two hashes). */
function gaussian(key: string): number {
  const u = (hash(`u:${key}`) + 0.5) / 2 ** 32;
  const v = (hash(`v:${key}`) + 0.5) / 2 ** 32;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * How the simulated raters judge, the rule `npm start` and `npm run bench loop` label by:
 * - A text's worth to a rater is its taste's worth plus that rater's own noise for that
 *   text, N(0, 0.5²), fixed by a hash of (rater, text) so the same rater judges the same
 *   text the same way every time; rounded to a whole number, the resolution a person has.
 *   Equal worth: the rater says "equal" (a tie). The taste's worth: on real-review text,
 *   the taste model's standardised score (taste-model.ts, learned from real people's rank
 *   lists); on generated text, liking(text) (positive words minus negative words).
 * - A score is 3 + worth, clamped to 1–5 stars.
 * - A careless rater (`randomShare` > 0) answers that share of tasks at random, chosen
 *   by a hash of (rater, task), without ties.
 */
export interface RaterTaste {
  noise: number;
  randomShare: number;
}
export const TASTES: Record<string, RaterTaste> = { default: { noise: 0.5, randomShare: 0 }, careless: { noise: 0.5, randomShare: 0.25 } };

/** The rater's own standard normal draw for a text: the same every time they see it. */
export const raterNoise = (rater: string, text: string) => gaussian(`${rater}:${text}`);
/** A text's worth to `rater` (see above); `worthOf` is the taste's truth: liking(), or the taste model's on real reviews. */
export const perceivedWorth = (rater: string, text: string, taste: RaterTaste = TASTES.default!, worthOf: (text: string) => number = liking) =>
  Math.round(worthOf(text) + taste.noise * raterNoise(rater, text));
/** Whether a careless rater answers this task (named by its text) at random. */
export const answersAtRandom = (rater: string, task: string, taste: RaterTaste) => hash(`${rater}:${task}`) / 2 ** 32 < taste.randomShare;
/** The worth a rater answering at random gives a text: a hash, so no two texts tie. */
export const randomWorth = (rater: string, text: string) => hash(`${rater}:${text}:random`);

/**
 * Answers tasks the way a person with `taste` would (see perceivedWorth), until `stop()`
 * or no tasks are left: scores 1–5, ranks best first with ties tapped as "= X".
 */
export async function labelAutomatically(
  rater: LocalRater,
  options: {
    maxTasks?: number;
    log?: (line: string) => void;
    shouldStop?: () => boolean;
    pauseMs?: number;
    taste?: RaterTaste;
    worthOf?: (text: string) => number;
  } = {},
): Promise<number> {
  const taste = options.taste ?? TASTES.default!;
  const worthOf = options.worthOf ?? liking;
  let done = 0;
  let task = await rater.waitForTask();
  while (!options.shouldStop?.() && done < (options.maxTasks ?? Infinity) && task.keyboard.length > 0) {
    const before = task.text;
    const careless = answersAtRandom(rater.name, task.text, taste);
    const worth = (text: string) => (careless ? randomWorth(rater.name, text) : perceivedWorth(rater.name, text, taste, worthOf));
    if (task.text.startsWith("打分")) {
      const continuation = /续写 Continuation: (.*)$/m.exec(task.text)?.[1] ?? "";
      const stars = careless
        ? 1 + (hash(`${rater.name}:${continuation}`) % 5)
        : Math.max(1, Math.min(5, 3 + perceivedWorth(rater.name, continuation, taste, worthOf)));
      await rater.tap(task.messageId, task.keyboard[0]![stars - 1]!.data);
    } else {
      // Rank: tap the most liked of those left ("= X" when as good as the previous) until the order is complete, then save.
      let previous: number | undefined;
      for (;;) {
        const current = rater.messages().find((m) => m.messageId === task.messageId)!;
        const options2 = [...current.text.matchAll(/^([A-H])\. (.*)$/gm)].map((m) => ({ letter: m[1]!, text: m[2]! }));
        const save = current.keyboard.flat().find((b) => b.data.endsWith(":save"));
        if (save) {
          // The last one was placed for us: say whether it ties with the one before it.
          const order = /confirm: (.*)$/m.exec(current.text)?.[1] ?? "";
          const letters = order.split(/ [>=] /);
          const seps = [...order.matchAll(/ ([>=]) /g)].map((m) => m[1]);
          const textOf = (letter: string) => options2.find((o) => o.letter === letter)?.text ?? "";
          const shouldTie = letters.length >= 2 && worth(textOf(letters.at(-1)!)) === worth(textOf(letters.at(-2)!));
          const toggle = current.keyboard.flat().find((b) => b.data.endsWith(":tl"));
          if (toggle && shouldTie !== (seps.at(-1) === "=")) {
            const shown = current.text;
            await rater.tap(task.messageId, toggle.data);
            await rater.waitFor((ms) => ms.find((m) => m.messageId === task.messageId && m.text !== shown), "the tie to show");
            continue;
          }
          await rater.tap(task.messageId, save.data);
          break;
        }
        const left = current.keyboard[0]!.filter((b) => /^[A-H]$/.test(b.text));
        const best = left.map((b) => ({ b, score: worth(options2.find((o) => o.letter === b.text)?.text ?? "") })).sort((x, y) => y.score - x.score)[0]!;
        const tie =
          previous !== undefined && best.score === previous && !careless ? current.keyboard.flat().find((b) => b.text === `= ${best.b.text}`) : undefined;
        previous = best.score;
        const shown = current.text;
        await rater.tap(task.messageId, (tie ?? best.b).data);
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
