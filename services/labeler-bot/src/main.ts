import { createServer } from "node:http";
import { createBot } from "./bot.ts";
import { ConfigError, loadBotConfig } from "./config.ts";
import { ranklabApi } from "./ranklab-api.ts";

/**
 * Runs the bot: long polling by default, or a webhook server (Telegram's
 * X-Telegram-Bot-Api-Secret-Token header checked) when WEBHOOK_URL is set.
 */
export async function runBot(env: Record<string, string | undefined> = process.env): Promise<{ stop(): Promise<void> }> {
  const config = loadBotConfig(env);
  const bot = createBot(config, ranklabApi(config.RANKLAB_API_URL, config.RANKLAB_BOT_TOKEN));
  if (config.WEBHOOK_URL) {
    const url = new URL(config.WEBHOOK_URL);
    const handler = await bot.createWebhook({ domain: url.origin, path: url.pathname, secret_token: config.WEBHOOK_SECRET! });
    const server = createServer(handler).listen(config.PORT);
    console.log(`labeler-bot: webhook ${url.href} on port ${config.PORT}`);
    return {
      stop: async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }
  // launch() resolves only when polling stops; start it and return.
  void bot.launch({ dropPendingUpdates: false }).catch((err) => {
    console.error(`labeler-bot: polling stopped: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
  console.log(`labeler-bot: polling ${config.TELEGRAM_API_ROOT}`);
  return {
    stop: async () => {
      bot.stop("stop");
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const running = await runBot();
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void running.stop().then(() => process.exit(0)));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}
