import { z } from "zod";

const idList = z
  .string()
  .trim()
  .regex(/^(\d+(,\d+)*)?$/, "comma-separated Telegram user ids")
  .transform((v) => (v ? v.split(",").map(Number) : []));

/**
 * The bot's configuration, from the environment, checked at start. A missing or bad
 * variable stops the bot with a message that names it.
 */
export const BotConfigSchema = z
  .object({
    /** From @BotFather. Absent: `npm start` runs the bot against a local Bot API server instead. */
    TELEGRAM_BOT_TOKEN: z.string().regex(/^\d+:[\w-]{20,}$/, "looks like 123456:ABC-DEF… (from @BotFather)"),
    /** Any Bot API server (a local emulator, a self-hosted telegram-bot-api). */
    TELEGRAM_API_ROOT: z.url().default("https://api.telegram.org"),
    RANKLAB_API_URL: z.url(),
    /** The API's bot-role token (BOT_API_TOKEN of the Worker). */
    RANKLAB_BOT_TOKEN: z.string().min(16),
    /** Who may register: these Telegram user ids, and anyone who opens the bot with the invite code. */
    ALLOWED_TELEGRAM_IDS: idList.default([]),
    INVITE_CODE: z
      .string()
      .regex(/^[\w-]{6,64}$/, "6–64 letters, digits, _ or -")
      .optional(),
    /** Telegram user ids allowed to /export. */
    ADMIN_TELEGRAM_IDS: idList.default([]),
    /** Webhook mode (deployment): the public https URL Telegram posts to, and the secret it sends back. */
    WEBHOOK_URL: z.url().optional(),
    WEBHOOK_SECRET: z
      .string()
      .regex(/^[\w-]{16,256}$/, "16–256 letters, digits, _ or - (Telegram's secret_token rules)")
      .optional(),
    PORT: z.coerce.number().int().min(1).max(65535).default(8443),
  })
  .refine((c) => c.ALLOWED_TELEGRAM_IDS.length > 0 || c.INVITE_CODE, {
    message: "set ALLOWED_TELEGRAM_IDS or INVITE_CODE, or strangers could label",
    path: ["ALLOWED_TELEGRAM_IDS"],
  })
  .refine((c) => !c.WEBHOOK_URL || c.WEBHOOK_SECRET, { message: "webhook mode needs WEBHOOK_SECRET", path: ["WEBHOOK_SECRET"] });

export type BotConfig = z.infer<typeof BotConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment, naming every missing or bad variable. */
export function loadBotConfig(env: Record<string, string | undefined>): BotConfig {
  const parsed = BotConfigSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")));
  if (!parsed.success) {
    throw new ConfigError(`labeler-bot configuration: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(env)"}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}
