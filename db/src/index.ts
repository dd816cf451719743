export * from "./schema.ts";
export { SEED_PROMPTS } from "./seed-prompts.ts";
