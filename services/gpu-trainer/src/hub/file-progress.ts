import cliProgress from "cli-progress";

export interface FileProgress {
  update(bytes: number): void;
  /** The file is complete. */
  done(): void;
  /** The download failed: the bar goes, nothing is reported. */
  stop(): void;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

/**
 * One bar per file on stderr (stdout stays the command's output, e.g. one score a line),
 * with size, rate and ETA, when stderr is a terminal; otherwise one line per file once it is done.
 */
export function fileProgress(label: string, total: number, quiet: boolean): FileProgress {
  if (quiet) return { update: () => {}, done: () => {}, stop: () => {} };
  if (!process.stderr.isTTY) return { update: () => {}, done: () => console.error(`${label} ${formatBytes(total)}`), stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {percentage}% {got}/{size} | {speed}/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(Math.max(1, total), 0, { got: formatBytes(0), size: formatBytes(total), speed: formatBytes(0) });
  return {
    update(bytes) {
      const seconds = Math.max(1e-3, (Date.now() - started) / 1000);
      bar.update(Math.min(bytes, Math.max(1, total)), { got: formatBytes(bytes), speed: formatBytes(Math.round(bytes / seconds)) });
    },
    done() {
      bar.update(Math.max(1, total), { got: formatBytes(total) });
      bar.stop();
    },
    stop() {
      bar.stop();
    },
  };
}
