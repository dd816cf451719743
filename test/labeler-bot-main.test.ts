import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBot } from "@ranklab/labeler-bot";
import { startLocalBotApi, type LocalBotApi } from "@ranklab/local-raters";

describe("webhook mode", () => {
  let local: LocalBotApi;
  let running: { stop(): Promise<void> };
  const port = 30000 + (process.pid % 20000);
  const secret = "s3cret-token-for-the-webhook";

  beforeAll(async () => {
    local = await startLocalBotApi();
    running = await runBot({
      TELEGRAM_BOT_TOKEN: "200000:webhook-test-token-abcdef",
      TELEGRAM_API_ROOT: local.apiRoot,
      RANKLAB_API_URL: "http://127.0.0.1:9",
      RANKLAB_BOT_TOKEN: "x".repeat(32),
      ALLOWED_TELEGRAM_IDS: "1",
      WEBHOOK_URL: "https://bot.example.com/telegram/hook",
      WEBHOOK_SECRET: secret,
      PORT: String(port),
    });
  });
  afterAll(async () => {
    await running.stop();
    await local.stop();
  });

  const post = (headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${port}/telegram/hook`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({
        update_id: 1,
        message: { message_id: 1, date: 0, chat: { id: 1, type: "private" }, from: { id: 1, is_bot: false, first_name: "A" }, text: "hi" },
      }),
    });

  it("refuses updates without Telegram's secret-token header, or with a wrong one", async () => {
    expect((await post({})).status).toBe(403);
    expect((await post({ "x-telegram-bot-api-secret-token": "wrong" })).status).toBe(403);
  });

  it("takes updates that carry the secret", async () => {
    expect((await post({ "x-telegram-bot-api-secret-token": secret })).status).toBe(200);
  });
});
