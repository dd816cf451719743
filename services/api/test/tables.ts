/** Every table the API writes (the migrations' own d1_migrations aside): what "nothing stored" counts. */
export const TABLES = [
  "raters",
  "web_logins",
  "web_sessions",
  "bot_sessions",
  "prompts",
  "completions",
  "scores",
  "rankings",
  "ranking_items",
  "leases",
  "checkpoints",
  "training_runs",
  "completion_rewards",
  "gold_groups",
  "gold_group_items",
] as const;
