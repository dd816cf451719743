import { describe, expect, it } from "vitest";
import { requestLogStatus, requestLogSummary, wranglerRoutine } from "../scripts/lib/request-log.ts";

describe("wrangler's request lines in npm start", () => {
  it("recognises a request line, with or without colours and prefix, and nothing else", () => {
    expect(requestLogStatus("[wrangler:info] GET /v1/tasks/next 200 OK (12ms)")).toBe(200);
    expect(requestLogStatus("\x1b[1mPOST\x1b[22m /v1/leases \x1b[33m\x1b[1m409\x1b[22m Conflict \x1b[39m\x1b[90m(3ms)\x1b[39m")).toBe(409);
    expect(requestLogStatus("GET /__scheduled?cron=*%2F5 200 OK (40ms)")).toBe(200);
    expect(requestLogStatus("[wrangler:info] Ready on http://127.0.0.1:8787")).toBeUndefined();
    expect(requestLogStatus("api: cron requested training run 4 (12 labels waiting)")).toBeUndefined();
    expect(requestLogStatus("GET requests are cached")).toBeUndefined();
  });

  it("hides request lines but 5xx, and counts them for one summary line", () => {
    const requests = requestLogSummary();
    const lines = [
      "[wrangler:info] GET /health 200 OK (1ms)",
      "[wrangler:info] POST /v1/scores 400 Bad Request (2ms)",
      "[wrangler:info] POST /v1/score 503 Service Unavailable (5ms)",
      "api: unexpected error",
    ];
    expect(lines.filter(requests.keep)).toEqual(["[wrangler:info] POST /v1/score 503 Service Unavailable (5ms)", "api: unexpected error"]);
    expect(requests.summary()).toMatch(/^2 requests answered in the last minute \(1 with 4xx\)/);
    expect(requests.summary()).toBeUndefined();
  });

  it("knows wrangler's custom-build chatter, and nothing else, for routine", () => {
    expect(wranglerRoutine("The file services/api/page changed, restarting build...")).toBe(true);
    expect(wranglerRoutine("\x1b[2mRunning custom build: node_modules/.bin/tsx services/api/page/build-assets.ts\x1b[22m")).toBe(true);
    expect(wranglerRoutine("✘ [ERROR] Custom build failed")).toBe(false);
    expect(wranglerRoutine("[wrangler:info] Ready on http://127.0.0.1:8787")).toBe(false);
  });
});
