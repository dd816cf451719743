/**
 * Labeling without Telegram: a Bot API server on 127.0.0.1 (bot-api-server.ts), simulated
 * raters who talk to the real bot through it (simulated-rater.ts), and the seed completions
 * a fresh database starts with (starter-completions.ts). `npm start` runs run-local.ts when
 * no TELEGRAM_BOT_TOKEN is set; tests and benchmarks use the parts. The taste model learned
 * from real rank lists loads tfjs, so it has its own entry (@ranklab/local-raters/taste-model).
 */
export { startLocalBotApi, type CallbackAnswer, type LocalBotApi } from "./bot-api-server.ts";
export {
  answersAtRandom,
  labelAutomatically,
  liking,
  LocalRater,
  perceivedWorth,
  randomWorth,
  raterNoise,
  TASTES,
  type ChatMessage,
  type RaterTaste,
} from "./simulated-rater.ts";
export { starterCompletions } from "./starter-completions.ts";
