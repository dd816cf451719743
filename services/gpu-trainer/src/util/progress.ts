import cliProgress from "cli-progress";

export interface Progress {
  /** Moves the bar to `value`. */
  update(value: number): void;
  /** Prints a log line above the bar. */
  log(line: string): void;
  stop(): void;
}

/**
 * A progress bar with rate and ETA on stderr when it is a terminal and not `quiet`;
 * log lines always go to stdout, one per event, so CI logs stay readable.
 */
export function createProgress(total: number, label: string, quiet: boolean, print: (line: string) => void = console.log): Progress {
  const interactive = !quiet && process.stderr.isTTY === true;
  if (!interactive) {
    return { update: () => {}, log: (line) => print(line), stop: () => {} };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} |{bar}| {value}/{total} {percentage}% | {rate}/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(total, 0, { rate: "0.00" });
  return {
    update(value) {
      bar.update(value, { rate: (value / Math.max(1e-3, (Date.now() - started) / 1000)).toFixed(2) });
    },
    log(line) {
      process.stderr.write("\r\x1b[K");
      print(line);
      bar.render();
    },
    stop() {
      bar.stop();
    },
  };
}
