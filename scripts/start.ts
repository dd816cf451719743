/**
 * `npm start`: the whole system on one machine, offline, on its embedded defaults.
 * Today that is the API Worker under wrangler dev with a local D1 and R2; the bot and
 * the trainer join this same command as they are built.
 */
import { seedPrompts, startApiDev } from "./lib/api-dev.ts";
import { ranklabHome } from "./lib/local-env.ts";
import { ProcessGroup } from "./lib/processes.ts";

const port = Number(process.env.RANKLAB_API_PORT ?? 8787);
const group = new ProcessGroup();
const log = (line: string) => process.stdout.write(`[start]    ${line}\n`);

let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  log("stopping all services");
  await group.stop();
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  log(`state and tokens in ${ranklabHome()}`);
  const api = await startApiDev({ port, group, cronEverySeconds: 60 });
  const created = await seedPrompts(api);
  log(`API ready at ${api.url} (${created} seed prompts added); tokens in ${ranklabHome()}/secrets.env`);
  log("Ctrl-C stops everything");
} catch (err) {
  log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
