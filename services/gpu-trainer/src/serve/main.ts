import { join } from "node:path";
import { z } from "zod";
import { selectBackend } from "../backend/select-backend.ts";
import { startScorerServer } from "./scorer-server.ts";

/** The scorer's configuration, from the environment, checked at start. */
const EnvSchema = z.object({
  RANKLAB_API_URL: z.url(),
  TRAINER_API_TOKEN: z.string().min(16),
  SCORER_PORT: z.coerce.number().int().min(1).max(65535).default(8790),
  // Loopback unless the scorer must be reached from elsewhere (the container sets 0.0.0.0).
  SCORER_HOST: z.string().min(1).default("127.0.0.1"),
  SCORER_TOKEN: z.string().min(16).optional(),
  SCORER_POLL_SECONDS: z.coerce.number().positive().default(10),
  RANKLAB_HOME: z.string().default(".ranklab"),
});

const parsed = EnvSchema.safeParse(process.env);
if (!parsed.success) {
  console.error(`scorer configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(2);
}
const env = parsed.data;
// Checkpoints are read on tfjs once (to export ONNX if missing); scoring runs on onnxruntime.
await selectBackend();
const server = await startScorerServer({
  port: env.SCORER_PORT,
  hostname: env.SCORER_HOST,
  apiUrl: env.RANKLAB_API_URL,
  apiToken: env.TRAINER_API_TOKEN,
  ...(env.SCORER_TOKEN ? { token: env.SCORER_TOKEN } : {}),
  home: join(env.RANKLAB_HOME, "scorer"),
  pollSeconds: env.SCORER_POLL_SECONDS,
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void server.stop().then(() => process.exit(0)));
