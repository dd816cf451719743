/** The labeler bot, for whoever runs it (main.ts, @ranklab/local-raters) or tests it (test/labeler-bot*.test.ts). */
export { createBot, type BotContext, type BotOptions } from "./bot.ts";
export { ConfigError, loadBotConfig, type BotConfig } from "./config.ts";
export { runBot } from "./main.ts";
export { ApiRefused, ApiUnavailable, ranklabApi, type RanklabApi } from "./ranklab-api.ts";
