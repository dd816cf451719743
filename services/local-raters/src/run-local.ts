/**
 * The bot as `npm start` runs it without TELEGRAM_BOT_TOKEN: a Bot API server on
 * 127.0.0.1, the real bot polling it, and a few simulated raters who label on their
 * own, so labels flow into D1 on a fresh clone. Reads RANKLAB_API_URL and the API's
 * bot and trainer tokens from the environment.
 */
import { createApiClient } from "@ranklab/api/client";
import { createBot, loadBotConfig, ranklabApi } from "@ranklab/labeler-bot";
import { startLocalBotApi } from "./bot-api-server.ts";
import { labelAutomatically, LocalRater, TASTES } from "./simulated-rater.ts";
import { starterCompletions } from "./starter-completions.ts";
import { loadTasteModel } from "./taste-model.ts";

const LOCAL_TOKEN = "100000:local-bot-api-server-token";
// Zhao answers a quarter of the tasks at random: crowds have careless raters, and the loop must cope.
const RATERS = [
  { id: 1001, name: "Mei", taste: TASTES.default! },
  { id: 1002, name: "Lin", taste: TASTES.default! },
  { id: 1003, name: "Zhao", taste: TASTES.careless! },
];
// A person's pace between tasks, and how long an idle rater waits before checking back (the loop benchmark shortens both).
const PAUSE_MS = Number(process.env.RATER_PAUSE_MS ?? 1500);
const RECHECK_MS = Number(process.env.RATER_RECHECK_SECONDS ?? 30) * 1000;

const log = (line: string) => process.stdout.write(`${line}\n`);
// Routine lines (each label, each idle re-check) only with RANKLAB_VERBOSE=1; otherwise one line a minute counts the labels per rater.
const verbose = process.env.RANKLAB_VERBOSE === "1";
const routine = verbose ? log : () => {};
const labelsThisMinute = new Map<string, number>();
setInterval(() => {
  const counts = [...labelsThisMinute].filter(([, n]) => n > 0);
  labelsThisMinute.clear();
  if (counts.length > 0) log(`labels in the last minute: ${counts.map(([name, n]) => `${name} ${n}`).join(", ")} (RANKLAB_VERBOSE=1 shows each)`);
}, 60_000).unref();
// Real-review text is judged by the taste model learned from real rank lists (RATER_TASTE_DIR, made by the loop
// benchmark under <models home>/taste); without it, by the keyword liking() of generated reviews.
const tasteModel = process.env.RATER_TASTE_DIR ? loadTasteModel(process.env.RATER_TASTE_DIR) : undefined;
const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`run-local: ${name} is not set (npm start sets it)`);
  return v;
};

const apiUrl = env("RANKLAB_API_URL");
const local = await startLocalBotApi();
log(
  `local Bot API server at ${local.apiRoot} (no TELEGRAM_BOT_TOKEN: simulated raters ${RATERS.map((r) => r.name).join(", ")}, taste ${tasteModel ? `the taste model in ${tasteModel.dir}` : "liking()"})`,
);

// Work for the raters: starter completions for active prompts that have fewer than 4.
const trainer = createApiClient(apiUrl, env("TRAINER_API_TOKEN"));
const { items: prompts } = await (await trainer.v1.prompts.$get({ query: { limit: "200" } })).json();
const starters = starterCompletions(prompts.filter((p) => p.active).map((p) => p.text));
let posted = 0;
for (const prompt of prompts.filter((p) => p.active)) {
  const { items } = await (await trainer.v1.completions.$get({ query: { promptId: String(prompt.id), limit: "4" } })).json();
  if (items.length >= 4) continue;
  const res = await trainer.v1.completions.$post({
    json: { generation: { source: "review generator (starter)" }, completions: starters.get(prompt.text)!.map((text) => ({ promptId: prompt.id, text })) },
  });
  if (res.ok) posted += 4;
}
log(`posted ${posted} starter completions`);

const config = loadBotConfig({
  TELEGRAM_BOT_TOKEN: LOCAL_TOKEN,
  TELEGRAM_API_ROOT: local.apiRoot,
  RANKLAB_API_URL: apiUrl,
  RANKLAB_BOT_TOKEN: env("RANKLAB_BOT_TOKEN"),
  ALLOWED_TELEGRAM_IDS: RATERS.map((r) => r.id).join(","),
  ADMIN_TELEGRAM_IDS: String(RATERS[0]!.id),
});
const bot = createBot(config, ranklabApi(apiUrl, config.RANKLAB_BOT_TOKEN), { log });
void bot.launch().catch((err) => log(`bot stopped: ${String(err)}`));

let stopping = false;
const stop = async () => {
  stopping = true;
  bot.stop("SIGTERM");
  await local.stop();
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());

// Each simulated rater opens the bot and labels at a person's pace until nothing is left, then checks back.
await Promise.all(
  RATERS.map(async ({ id, name, taste }) => {
    const rater = new LocalRater(local, LOCAL_TOKEN, id, name);
    const counted = (line: string) => {
      labelsThisMinute.set(name, (labelsThisMinute.get(name) ?? 0) + 1);
      routine(line);
    };
    let idle = false;
    while (!stopping) {
      await rater.command("/start");
      const done = await labelAutomatically(rater, {
        shouldStop: () => stopping,
        log: counted,
        pauseMs: PAUSE_MS,
        taste,
        ...(tasteModel ? { worthOf: tasteModel.worth } : {}),
      }).catch((err) => {
        // The error's first line names the rater and what it waited for; the chat dump below it is for tests.
        if (!stopping) log(err instanceof Error ? err.message.split("\n")[0]! : `${name}: ${String(err)}`);
        return 0;
      });
      // Running out of work is news once (the trainer posts more after a run), not every re-check.
      if (done === 0 && !idle) log(`${name}: no task waiting; checking back every ${RECHECK_MS / 1000} s`);
      idle = done === 0;
      routine(`${name}: ${done} label(s) this round; checking back in ${RECHECK_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, RECHECK_MS));
    }
  }),
);
