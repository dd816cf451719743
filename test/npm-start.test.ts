/**
 * `npm start` as a new user meets it: scripts/start.ts itself on a fresh home (no bot and
 * no model making, to spare the machine), its printed login link opened in headless
 * Chromium (Debian's `chromium` through playwright-core) landing on the Runs tab as the
 * local admin; Ctrl-C a clean stop; and a taken port refused before anything starts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../scripts/lib/free-port.ts";
import { REPO_ROOT } from "../scripts/lib/local-env.ts";
import { typescriptCommand } from "../scripts/lib/processes.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);
const homes: string[] = [];
const running: ChildProcess[] = [];

/** scripts/start.ts as `npm start` runs it, on a fresh home; its output lines are collected as they come. */
function npmStart(env: Record<string, string>) {
  const home = mkdtempSync(join(tmpdir(), "ranklab-start-"));
  homes.push(home);
  // As package.json's start runs it: node with tsx as its loader (scripts/lib/processes.ts says why not tsx's CLI).
  const child = spawn(...typescriptCommand(join(REPO_ROOT, "scripts/start.ts")), {
    cwd: REPO_ROOT,
    env: { ...process.env, RANKLAB_HOME: home, RANKLAB_SKIP_PREPARE: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.push(child);
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      for (const w of waiters.splice(0)) w();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const waitForLine = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = lines.find((l) => pattern.test(l));
        if (found) return resolve(found);
        if (child.exitCode !== null) return reject(new Error(`npm start exited (${child.exitCode}) before printing ${pattern}:\n${lines.join("\n")}`));
        waiters.push(check);
      };
      child.once("exit", () => setTimeout(check, 100));
      check();
    });
  return { child, lines, exited, waitForLine };
}

afterAll(() => {
  for (const child of running) {
    try {
      if (child.exitCode === null && child.pid) process.kill(child.pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe("npm start", () => {
  it("prints a one-time login link that opens the Runs tab as the local admin, and stops cleanly on Ctrl-C", async () => {
    if (!CHROMIUM) throw new Error("no Chromium found: install Debian's `chromium` (apt-get install chromium) or set CHROMIUM_PATH");
    const port = await freePort();
    const start = npmStart({ RANKLAB_API_PORT: String(port), RANKLAB_SCORER_PORT: String(await freePort()), RANKLAB_NO_BOT: "1" });
    const linkLine = await start.waitForLine(/^\[start\]\s+http:\/\/127\.0\.0\.1:\d+\/app#login=/);
    const link = linkLine.replace(/^\[start\]\s+/, "");
    expect(link).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/app#login=[A-Za-z0-9_-]{43}&tab=runs$`));

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
      const page = await context.newPage();
      await page.goto(link);
      await expect.poll(() => page.locator("#who").innerText()).toBe("admin (npm start) (admin)");
      await expect.poll(() => page.getByRole("tab", { name: /Runs/ }).getAttribute("aria-selected")).toBe("true");
      await expect.poll(() => page.locator("#tab-runs").isVisible()).toBe(true);
      // The token left the address bar, and the session cookie is the __Host- one, Secure, on http://127.0.0.1 (Chromium keeps it).
      expect(page.url()).toBe(`http://127.0.0.1:${port}/app`);
      const cookies = await context.cookies();
      expect(cookies.map((c) => ({ name: c.name, secure: c.secure, httpOnly: c.httpOnly, path: c.path }))).toEqual([
        { name: "__Host-ranklab_session", secure: true, httpOnly: true, path: "/" },
      ]);
      expect(cookies[0]!.value).not.toBe(link.split("#login=")[1]!.split("&")[0]);
      // A reload keeps the session (the cookie is sent back).
      await page.reload();
      await expect.poll(() => page.locator("#who").innerText()).toBe("admin (npm start) (admin)");

      // The link works once: in a fresh browser it says so, and shows the login box.
      const other = await (await browser.newContext()).newPage();
      await other.goto(link);
      await expect.poll(() => other.locator("#status").innerText()).toMatch(/The login link did not work: unknown, used or revoked login token/);
      // The page shows the status before it swaps the login box in: wait for that too, rather than read it at once.
      await expect.poll(() => other.locator("#login").isVisible()).toBe(true);
      await expect.poll(() => other.locator("#logout").isVisible()).toBe(false);

      // Logging out ends the session: the page shows the login box again.
      await page.getByRole("button", { name: "Log out" }).click();
      await expect.poll(() => page.locator("#login").isVisible()).toBe(true);
    } finally {
      await browser.close();
    }

    // Ctrl-C: everything stops, exit 0, and no service is reported as having "exited".
    start.child.kill("SIGINT");
    expect(await start.exited).toBe(0);
    // (migrate's "exited (code 0)" is its normal end at start-up; none may say 143 or a signal.)
    expect(start.lines.filter((l) => /exited \((?!code 0\))/.test(l))).toEqual([]);
    expect(start.lines).toContain("[start]    stopped");
  }, 240_000);

  it("refuses a taken port with one line naming RANKLAB_API_PORT and a non-zero exit, before starting anything", async () => {
    const port = await freePort();
    const holder: Server = await new Promise((resolve) => {
      const server = createServer().listen(port, "127.0.0.1", () => resolve(server));
    });
    try {
      const start = npmStart({ RANKLAB_API_PORT: String(port) });
      expect(await start.exited).toBe(1);
      expect(start.lines).toEqual([
        `[start]    port ${port} on 127.0.0.1 is in use; stop what holds it or pick another: RANKLAB_API_PORT=<free port> npm start`,
      ]);
    } finally {
      holder.close();
    }
  });
});
