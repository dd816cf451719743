/** ANSI colour codes, which wrangler adds when it thinks a terminal reads it. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what starts an ANSI code
const ANSI = /\x1b\[[0-9;]*m/g;

/** wrangler dev's line per request: `[wrangler:info] GET /v1/tasks/next 200 OK (12ms)`. */
const REQUEST_LINE = /^(?:\[wrangler:\w+\] )?(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \/\S* (\d{3})\b/;

/** The status of a wrangler request-log line; undefined for any other line. */
export function requestLogStatus(line: string): number | undefined {
  const match = REQUEST_LINE.exec(line.replace(ANSI, ""));
  return match ? Number(match[2]) : undefined;
}

/**
 * Keeps wrangler's request lines out of a log that people read: each request line is
 * counted instead, except 5xx answers, which are shown; `summary()` gives the counts
 * since the last call (undefined when there were none), for one line a minute.
 * @example group.start("api", wrangler, args, { keep: requests.keep })
 */
export function requestLogSummary() {
  let total = 0;
  let clientErrors = 0;
  return {
    keep(line: string): boolean {
      const status = requestLogStatus(line);
      if (status === undefined || status >= 500) return true;
      total++;
      if (status >= 400) clientErrors++;
      return false;
    },
    summary(): string | undefined {
      if (total === 0) return undefined;
      const line = `${total} requests answered in the last minute (${clientErrors} with 4xx); npm start -- --request-logs shows each`;
      total = 0;
      clientErrors = 0;
      return line;
    },
  };
}

/**
 * wrangler dev's start-up chatter that reads like news but is not: its custom build runs
 * again when its file watcher is ready ("The file services/api/page changed, restarting
 * build..."; the build script then finds its files current), and the line naming the command.
 */
export function wranglerRoutine(line: string): boolean {
  return /^(The file .* changed, restarting build|Running custom build: )/.test(line.replace(ANSI, "").trim());
}
