import { describe, expect, it } from "vitest";
import { loadBotConfig } from "./config.ts";

const good = {
  TELEGRAM_BOT_TOKEN: "123456:ABCDEFGHIJKLMNOPQRSTUVWX",
  RANKLAB_API_URL: "http://127.0.0.1:8787",
  RANKLAB_BOT_TOKEN: "x".repeat(32),
  ALLOWED_TELEGRAM_IDS: "1,2",
};

describe("bot configuration", () => {
  it("reads a complete environment", () => {
    const c = loadBotConfig(good);
    expect(c.ALLOWED_TELEGRAM_IDS).toEqual([1, 2]);
    expect(c.TELEGRAM_API_ROOT).toBe("https://api.telegram.org");
  });

  it("names every missing or bad variable", () => {
    expect(() => loadBotConfig({})).toThrow(/TELEGRAM_BOT_TOKEN: .*RANKLAB_API_URL: .*RANKLAB_BOT_TOKEN: /);
    expect(() => loadBotConfig({ ...good, TELEGRAM_BOT_TOKEN: "nope" })).toThrow(/TELEGRAM_BOT_TOKEN: looks like 123456:ABC-DEF/);
    expect(() => loadBotConfig({ ...good, ALLOWED_TELEGRAM_IDS: "" })).toThrow(/set ALLOWED_TELEGRAM_IDS or INVITE_CODE/);
    expect(() => loadBotConfig({ ...good, WEBHOOK_URL: "https://bot.example.com/hook" })).toThrow(/WEBHOOK_SECRET: webhook mode needs WEBHOOK_SECRET/);
  });
});
