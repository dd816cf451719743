import type { Context } from "telegraf";
import type { RanklabApi } from "./ranklab-api.ts";

/** The task on screen. `id` is in every button of its keyboard, so a stale keyboard is recognised. */
export type CurrentTask =
  | { id: string; kind: "score"; promptText: string; completionId: number; completionText: string }
  | {
      id: string;
      kind: "rank";
      promptId: number;
      promptText: string;
      options: { id: number; text: string }[];
      /** Option indices, best first. */
      picked: number[];
      /** Per picked place: true when it is as good as the place before it (a tie). */
      ties?: boolean[];
    };

/** Dense levels (0 best) from the tie flags of a rank in order: [false, true, false] → [0, 0, 1]. */
export function levelsOf(ties: readonly boolean[], n: number): number[] {
  const levels: number[] = [];
  for (let k = 0; k < n; k++) levels.push(k === 0 ? 0 : ties[k] ? levels[k - 1]! : levels[k - 1]! + 1);
  return levels;
}

/** Per chat and user; stored in D1 through the API so a rank in progress survives a bot restart. */
export interface BotSession {
  raterId?: number;
  current?: CurrentTask;
  /** The message that shows tasks, edited in place. */
  messageId?: number;
  /** Completions this rater skipped, not offered again (the newest 100). */
  skipped?: number[];
}

/** Telegraf's async session store on the API's /v1/bot-sessions. */
export function apiSessionStore(api: RanklabApi) {
  return {
    get: async (key: string) => (await api.session.get(key)) as BotSession | undefined,
    set: async (key: string, value: BotSession) => {
      await api.session.set(key, value);
    },
    delete: async (key: string) => {
      await api.session.delete(key);
    },
  };
}

export const newTaskId = () => Math.random().toString(36).slice(2, 8);

/** Telegraf's context with the chat's session (bot.ts loads and saves it around each update). */
export interface BotContext extends Context {
  session: BotSession;
}
