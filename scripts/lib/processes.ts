import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * How a TypeScript entry runs as a child: node itself with tsx as its loader, one process.
 * Not tsx's CLI: that is a second process which relays a signal to its child, waits 30 ms
 * for the child to say it got it, and otherwise SIGKILLs it and exits 130; on a loaded
 * machine a Ctrl-C then killed `npm start` before it could stop its services
 * (test/npm-start.test.ts saw exit 130 at load 5–7).
 */
export function typescriptCommand(entry: string, ...args: string[]): [string, string[]] {
  return [process.execPath, ["--import", import.meta.resolve("tsx"), entry, ...args]];
}

/**
 * Child processes whose output is prefixed by their service name, one line per
 * event, and which are all stopped together (SIGTERM, then SIGKILL after a grace).
 */
export class ProcessGroup {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;

  constructor(private readonly log: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  /** `keep`: which output lines to show (all by default). */
  start(name: string, command: string, args: string[], { keep, ...options }: SpawnOptions & { keep?: (line: string) => boolean } = {}): ChildProcess {
    // detached: each child leads its own process group, so stop() reaches its children too (wrangler → workerd).
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], detached: true, ...options });
    this.children.set(name, child);
    const prefix = `[${name}]`.padEnd(10);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on("line", (line) => (keep && !keep(line) ? undefined : this.log(`${prefix} ${line}`)));
    }
    child.on("exit", (code, signal) => {
      this.children.delete(name);
      // While stop() runs, an exit is the one asked for (a SIGTERM'd node says "code 143"): not news.
      if (!this.stopping) this.log(`${prefix} exited (${signal ?? `code ${code}`})`);
    });
    return child;
  }

  /** Runs a command to completion with prefixed output; rejects naming its exit code. */
  run(name: string, command: string, args: string[], options: SpawnOptions & { keep?: (line: string) => boolean } = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = this.start(name, command, args, options);
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${name}: ${command} ${args.join(" ")} exited with code ${code}`))));
      child.on("error", reject);
    });
  }

  /** Whether stop() has begun: an exit from then on is expected, not a service dying. */
  get isStopping(): boolean {
    return this.stopping;
  }

  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    const running = [...this.children.values()];
    await Promise.all(running.map((child) => stopOne(child, graceMs)));
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

async function stopOne(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  signalGroup(child, "SIGTERM");
  const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
