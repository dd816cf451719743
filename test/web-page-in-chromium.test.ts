/**
 * The labeling page in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against the API under wrangler dev with a local D1: log in, draw a
 * prompt, reorder with the keyboard buttons and by dragging, save, and find the row
 * in the Dataset tab and in D1. Screenshots of each screen go to
 * .vitest/screenshots/web-page/ for a reader to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@ranklab/api/client";
import { startApiDev, type ApiDev } from "../scripts/lib/api-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { REPO_ROOT } from "../scripts/lib/local-env.ts";
import { ProcessGroup } from "../scripts/lib/processes.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);
const SHOTS = join(REPO_ROOT, ".vitest", "screenshots", "web-page");
const group = new ProcessGroup(() => {});
const home = mkdtempSync(join(tmpdir(), "ranklab-web-"));
let api: ApiDev;
let browser: Browser;
let page: Page;
let token: string;
let promptId: number;

const COMPLETIONS = ["质量很好，非常满意！", "还可以，中规中矩。", "一般般，有点失望。", "很差，再也不买了。"];

beforeAll(async () => {
  if (!CHROMIUM) throw new Error("no Chromium found: install Debian's `chromium` (apt-get install chromium) or set CHROMIUM_PATH");
  process.env.RANKLAB_HOME = home;
  api = await startApiDev({ port: await freePort(), group });
  const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
  const trainer = createApiClient(api.url, api.tokens.TRAINER_API_TOKEN);
  const rater = await (await admin.v1.raters.$post({ json: { externalId: "web:lin", displayName: "林" } })).json();
  await admin.v1.raters[":id"].$patch({ param: { id: String(rater.id) }, json: { role: "admin" } });
  const login = await admin.v1.raters[":id"]["web-logins"].$post({ param: { id: String(rater.id) }, json: { label: "chromium test" } });
  token = (await login.json()).token;
  const { prompts } = await (await admin.v1.prompts.$post({ json: { prompts: [{ text: "这款手机用了一周，感觉" }] } })).json();
  promptId = prompts[0]!.id;
  await trainer.v1.completions.$post({ json: { completions: COMPLETIONS.map((text) => ({ promptId, text })) } });
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--lang=zh-CN"] });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 }, locale: "zh-CN" });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await group.stop();
  rmSync(home, { recursive: true, force: true });
});

const order = async () => page.locator("#completions li .text").allInnerTexts();

describe("the labeling page in Chromium", () => {
  it("logs in, draws a prompt, reorders by keyboard and drag, saves, and shows the row", async () => {
    await page.goto(`${api.url}/app`);
    await page.locator("#token").fill(token);
    await page.screenshot({ path: join(SHOTS, "1-login.png") });
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.locator("#who").innerText()).toContain("林");

    await page.getByRole("button", { name: /Random prompt/ }).click();
    await expect.poll(() => page.locator("#completions li").count()).toBe(4);
    expect(await page.locator("#prompt").innerText()).toBe("这款手机用了一周，感觉");
    await page.screenshot({ path: join(SHOTS, "2-drawn.png") });

    // Drag: whichever of the two worst is not on top goes there (so a drag always happens).
    const full = (text: string) => "这款手机用了一周，感觉" + text;
    const dragged = (await order())[0] === full(COMPLETIONS[3]!) ? COMPLETIONS[2]! : COMPLETIONS[3]!;
    await page.locator("#completions li", { hasText: dragged }).dragTo(page.locator("#completions li").first());
    expect((await order())[0]).toBe(full(dragged));
    // Keyboard: focus an item's ↑ button and press Enter until each is in place, best first.
    for (let target = 0; target < COMPLETIONS.length - 1; target++) {
      while ((await order()).indexOf(full(COMPLETIONS[target]!)) !== target) {
        await page.getByRole("button", { name: `Move up: ${COMPLETIONS[target]}` }).focus();
        await page.keyboard.press("Enter");
      }
    }
    expect(await order()).toEqual(COMPLETIONS.map((c) => "这款手机用了一周，感觉" + c));
    // The two worst are equally bad: "=" ties the last with the one above it.
    await page.getByRole("button", { name: `As good as the one above: ${COMPLETIONS[3]}` }).click();
    expect(await page.locator("#completions li .rank").allInnerTexts()).toEqual(["1", "2", "3", "3"]);
    await page.screenshot({ path: join(SHOTS, "3-ordered.png") });

    await page.getByRole("button", { name: /Save ranking/ }).click();
    await expect.poll(() => page.locator("#status").innerText()).toMatch(/Saved ranking #\d+\./);
    await page.screenshot({ path: join(SHOTS, "4-saved.png") });

    await page.getByRole("tab", { name: /Dataset/ }).click();
    await expect.poll(() => page.locator("#dataset tbody tr").count()).toBe(1);
    expect(await page.locator("#dataset tbody tr td ol li").allInnerTexts()).toEqual(COMPLETIONS);
    await page.screenshot({ path: join(SHOTS, "5-dataset.png") });

    // And in D1, through the API: one web ranking in this order.
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const tsv = await (await admin.v1.exports["rankings.tsv"].$get({ query: {} })).text();
    // The seed's TSV cannot say "equal": one strict line per way through the tie.
    expect(tsv).toBe(`${COMPLETIONS.slice(0, 3).join("\t")}\n${[...COMPLETIONS.slice(0, 2), COMPLETIONS[3]].join("\t")}\n`);
    const list = await (await admin.v1.rankings.$get({ query: {} })).json();
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ source: "web", promptId });
    expect(list.items[0]!.completions.map((c) => c.level)).toEqual([0, 1, 2, 2]);
  });

  it("lets an admin rater add a prompt to the pool and switch one off", async () => {
    await page.getByRole("tab", { name: /Prompts/ }).click();
    await page.locator("#new-prompt").fill("这家酒店的早餐");
    await page.getByRole("button", { name: "Add" }).click();
    await expect.poll(async () => (await page.locator("#prompt-list li").allInnerTexts()).map((t) => t.trim())).toContain("这家酒店的早餐");
    await page.getByRole("checkbox", { name: "Active: 这款手机用了一周，感觉" }).uncheck();
    await expect.poll(() => page.locator("#status").innerText()).toMatch(/is off\./);
    await page.screenshot({ path: join(SHOTS, "6-prompts.png") });
    const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
    const { items } = await (await admin.v1.prompts.$get({ query: {} })).json();
    expect(items.find((p) => p.text === "这家酒店的早餐")?.active).toBe(true);
    expect(items.find((p) => p.id === promptId)?.active).toBe(false);
  });
});
