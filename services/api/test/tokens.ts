/** Bearer tokens the test Worker is configured with (vitest.config.ts). */
export const TEST_TOKENS = {
  bot: "test-bot-token",
  trainer: "test-trainer-token",
  admin: "test-admin-token",
} as const;
