import type { MiddlewareFn } from "telegraf";
import type { RanklabApi } from "./ranklab-api.ts";
import { apiSessionStore, type BotContext } from "./session.ts";

/** The longest an update holds its chat's queue: one stuck update (a call that never answers) must not freeze the chat. */
const QUEUE_HOLD_MS = 30_000;

/** One update at a time per chat: a double tap's two callbacks must not race on the same session. */
export function oneAtATimePerChat(): MiddlewareFn<BotContext> {
  const queues = new Map<number, Promise<unknown>>();
  return async (ctx, next) => {
    const chat = ctx.chat?.id;
    if (chat === undefined) return next();
    const before = queues.get(chat) ?? Promise.resolve();
    const previous = Promise.race([before, new Promise((r) => setTimeout(r, QUEUE_HOLD_MS).unref())]);
    const run = previous.then(() => next());
    const settled = run.catch(() => {});
    queues.set(chat, settled);
    try {
      await run;
    } finally {
      if (queues.get(chat) === settled) queues.delete(chat);
    }
  };
}

/**
 * Loads the chat's session from the API before each update and saves it after, if it
 * changed. (Telegraf's own session middleware caches a failed load, so after one API
 * outage a chat would fail until the bot restarts; updates per chat are already one
 * at a time here, so no cache is needed.)
 */
export function sessionInApi(api: RanklabApi): MiddlewareFn<BotContext> {
  const store = apiSessionStore(api);
  return async (ctx, next) => {
    const key = ctx.from && ctx.chat ? `${ctx.chat.id}:${ctx.from.id}` : undefined;
    if (!key) return next();
    const loaded = (await store.get(key)) ?? {};
    const before = JSON.stringify(loaded);
    ctx.session = loaded;
    await next();
    if (JSON.stringify(ctx.session) !== before) await store.set(key, ctx.session);
  };
}
