/**
 * The labeling page's browser code (/app/app.js, bundled by ../assets.ts; the page's CSP
 * allows no inline script). Everything it shows comes from /app/api (cookie-authenticated
 * JSON, services/api/src/web/api.ts); the answers' types are the API's own.
 */
import type { RaterQualityReport } from "../../src/lib/rater-quality.ts";
import type { RankedCompletion } from "../../src/lib/ranking-view.ts";
import type { RunFigures, RunsAnswer } from "../../src/web/runs.ts";

interface Me {
  id: number;
  displayName: string | null;
  role: "rater" | "admin";
  externalId: string;
}
/** A rank task on the page: the completions in the order the rater has put them, each maybe tied to the one above. */
interface PageTask {
  prompt: { id: number; text: string };
  completions: { id: number; text: string; tie?: boolean }[];
}
interface RankingRow {
  id: number;
  prompt: string;
  source: string;
  createdAt: string;
  completions: RankedCompletion[];
}
interface Prompt {
  id: number;
  text: string;
  active: boolean;
}
type Run = RunsAnswer["items"][number];
type Checkpoint = Run["checkpoints"][number];
type StatusKind = "info" | "ok" | "error";
interface Charts {
  embed: (target: HTMLElement, spec: ChartSpec, options: Record<string, unknown>) => Promise<unknown>;
  expressionInterpreter: unknown;
}
interface ChartSpec {
  data: { values: unknown[] };
  [key: string]: unknown;
}

/** The element `selector` names; the page's HTML (web/page.ts) has every one this script asks for. */
function $<E extends HTMLElement = HTMLElement>(selector: string): E {
  const found = document.querySelector<E>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}
const input = (selector: string) => $<HTMLInputElement>(selector);
const button = (selector: string) => $<HTMLButtonElement>(selector);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`/app/api${path}`, { ...init, headers: { "content-type": "application/json", ...init.headers }, credentials: "same-origin" });
  const body: unknown = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new Error((body as { error?: { message?: string } } | null)?.error?.message || res.statusText);
  return body as T;
}
const status = (text: string, kind: StatusKind = "info") => {
  const el = $("#status");
  el.textContent = text;
  el.dataset.kind = kind;
};
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  // appendChild, not append: the Workers types (which the API's answer types bring) give Element an append of their own.
  for (const child of children) e.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  return e;
}

let me: Me | null = null;
let task: PageTask | null = null;

function showTab(name: string) {
  for (const t of document.querySelectorAll<HTMLElement>("[role=tab]")) t.setAttribute("aria-selected", String(t.dataset.tab === name));
  for (const p of document.querySelectorAll<HTMLElement>("[role=tabpanel]")) p.hidden = p.id !== `tab-${name}`;
  if (name === "dataset") {
    void loadAgreement();
    void loadDataset(null);
  }
  if (name === "prompts") void loadPrompts();
  if (name === "runs") void loadRuns();
}

async function start(tab = "rank") {
  try {
    me = await api<Me>("/me");
  } catch {
    me = null;
  }
  $("#login").hidden = !!me;
  $("#app").hidden = !me;
  $("#account").hidden = !me;
  $("#who").textContent = me ? (me.displayName || me.externalId) + (me.role === "admin" ? " (admin)" : "") : "";
  if (me) {
    $("#tab-button-prompts").hidden = me.role !== "admin";
    $("#tab-button-runs").hidden = me.role !== "admin";
    showTab(me.role === "admin" || (tab !== "runs" && tab !== "prompts") ? tab : "rank");
  }
}

/*
 * A login link (the one npm start prints) carries its single-use token in the fragment,
 * which no server or log sees: #login=<token>&tab=runs. The page takes it out of the
 * address bar and history before using it.
 */
async function startFromLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("login");
  const tab = params.get("tab") || "rank";
  if (!token) return start();
  history.replaceState(null, "", location.pathname + location.search);
  try {
    await api("/login", { method: "POST", body: JSON.stringify({ token }) });
    status("Logged in from the link.", "ok");
  } catch (err) {
    status(`The login link did not work: ${messageOf(err)} (each link works once; npm start prints a new one at every start).`, "error");
  }
  await start(tab);
}

$("#login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    await api("/login", { method: "POST", body: JSON.stringify({ token: input("#token").value }) });
    status("Logged in.");
    await start();
  } catch (err) {
    status(messageOf(err), "error");
  }
});
$("#logout").addEventListener("click", async () => {
  await api("/logout", { method: "POST" });
  status("Logged out.");
  await start();
});
for (const t of document.querySelectorAll<HTMLElement>("[role=tab]")) t.addEventListener("click", () => showTab(t.dataset.tab ?? "rank"));

/* Rank: the list order is the ranking, best first; "=" marks a completion as good as the one above it (a tie). */
function levels(t: PageTask): number[] {
  const out: number[] = [];
  t.completions.forEach((c, i) => out.push(i === 0 ? 0 : c.tie ? out[i - 1]! : out[i - 1]! + 1));
  return out;
}
function renderTask() {
  const list = $("#completions");
  list.replaceChildren();
  $("#prompt").textContent = task ? task.prompt.text : "";
  button("#save").disabled = !task;
  if (!task) return;
  const t = task;
  const level = levels(t);
  t.completions.forEach((c, i) => {
    const up = el("button", { type: "button", className: "move", textContent: "↑", title: "Move up" });
    const down = el("button", { type: "button", className: "move", textContent: "↓", title: "Move down" });
    const tie = el("button", { type: "button", className: "tie", textContent: "=", title: "As good as the one above" });
    up.setAttribute("aria-label", `Move up: ${c.text}`);
    down.setAttribute("aria-label", `Move down: ${c.text}`);
    tie.setAttribute("aria-label", `As good as the one above: ${c.text}`);
    tie.setAttribute("aria-pressed", String(i > 0 && !!c.tie));
    up.disabled = i === 0;
    down.disabled = i === t.completions.length - 1;
    tie.disabled = i === 0;
    up.addEventListener("click", () => move(i, i - 1));
    down.addEventListener("click", () => move(i, i + 1));
    tie.addEventListener("click", () => {
      c.tie = !c.tie;
      renderTask();
      document.querySelectorAll("#completions li")[i]?.querySelector<HTMLButtonElement>("button.tie")?.focus();
    });
    const item = el(
      "li",
      { draggable: true, className: "completion" },
      el("span", { className: "rank", textContent: String(level[i]! + 1) }),
      el("span", { className: "text", textContent: t.prompt.text + c.text }),
      tie,
      up,
      down,
    );
    item.dataset.id = String(c.id);
    item.addEventListener("dragstart", (e) => {
      e.dataTransfer?.setData("text/plain", String(i));
      item.classList.add("dragging");
    });
    item.addEventListener("dragend", () => item.classList.remove("dragging"));
    item.addEventListener("dragover", (e) => e.preventDefault());
    item.addEventListener("drop", (e) => {
      e.preventDefault();
      move(Number(e.dataTransfer?.getData("text/plain")), i);
    });
    list.appendChild(item);
  });
}
function move(from: number, to: number) {
  if (!task || !Number.isInteger(from) || to < 0 || to >= task.completions.length || from === to) return;
  const [c] = task.completions.splice(from, 1);
  task.completions.splice(to, 0, c!);
  renderTask();
  // Keep keyboard focus on the moved item's same button.
  const buttons = document.querySelectorAll("#completions li")[to]?.querySelectorAll<HTMLButtonElement>("button.move");
  buttons?.[from > to ? 0 : 1]?.focus();
}
$("#draw").addEventListener("click", async () => {
  try {
    task = await api<PageTask>("/task");
    status("Order the completions, best first (= for one as good as the one above), then save.");
  } catch (err) {
    task = null;
    status(messageOf(err), "error");
  }
  renderTask();
});
$("#save").addEventListener("click", async () => {
  if (!task) return;
  try {
    const level = levels(task);
    // A plain order needs no levels; with a tie, the API stores them (and makes no training pair of a tie).
    const body = {
      promptId: task.prompt.id,
      completionIds: task.completions.map((c) => c.id),
      ...(level[level.length - 1] === level.length - 1 ? {} : { levels: level }),
    };
    const result = await api<{ created: boolean; ranking: { id: number } }>("/rankings", { method: "POST", body: JSON.stringify(body) });
    const saved = `${result.created ? "Saved ranking #" : "Already saved as ranking #"}${result.ranking.id}.`;
    // The next group comes at once: the saved one is done, and leaving it up invites saving it again.
    try {
      task = await api<PageTask>("/task");
      status(`${saved} Here is the next group.`, "ok");
    } catch {
      task = null;
      status(`${saved} No more groups wait for you now.`, "ok");
    }
    renderTask();
  } catch (err) {
    status(messageOf(err), "error");
  }
});

/* Dataset: newest first, paged by cursor. */
const pages: (number | null)[] = [];
async function loadDataset(cursor: number | null) {
  try {
    const page = await api<{ items: RankingRow[]; nextCursor: number | null }>(`/rankings?limit=10${cursor ? `&cursor=${cursor}` : ""}`);
    $("#dataset tbody").replaceChildren(
      ...page.items.map((r) =>
        el(
          "tr",
          {},
          el("td", { textContent: `#${r.id}` }),
          el("td", { textContent: r.prompt }),
          el("td", {}, el("ol", {}, ...r.completions.map((c) => el("li", { textContent: c.text })))),
          el("td", { textContent: r.source }),
          el("td", { textContent: new Date(r.createdAt).toLocaleString() }),
        ),
      ),
    );
    $("#empty").hidden = page.items.length > 0;
    button("#older").disabled = !page.nextCursor;
    button("#older").onclick = () => {
      pages.push(cursor);
      void loadDataset(page.nextCursor);
    };
    button("#newer").disabled = pages.length === 0 && !cursor;
    button("#newer").onclick = () => void loadDataset(pages.pop() ?? null);
  } catch (err) {
    status(messageOf(err), "error");
  }
}

/*
 * Agreement, from the active reward checkpoint's metrics: the model against the raters and
 * the raters against each other on held-out groups, your own held-out accuracy, and for
 * admins every rater's reliability with a Block / Unblock button.
 */
const fmt = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? "–" : Number.isInteger(x) ? String(x) : x.toFixed(digits));
async function loadAgreement() {
  try {
    const a = await api<RaterQualityReport>("/agreement");
    $("#agreement-source").textContent =
      a.checkpointId === null
        ? "No reward model is live yet. 还没有奖励模型。"
        : `From the live reward checkpoint v${a.version} (#${a.checkpointId}), on labels it never trained on.`;
    $("#tau-model").textContent = fmt(a.modelRaterTau);
    $("#tau-raters").textContent = fmt(a.raterRaterTau);
    $("#shared-pairs").textContent = fmt(a.sharedPairs);
    const own = a.raters[0];
    $("#own-accuracy").textContent = own && own.heldOutAccuracy !== null ? `${fmt(own.heldOutAccuracy)} on ${fmt(own.heldOutPairs)} pairs` : "–";
    $("#reliability-panel").hidden = me?.role !== "admin";
    if (me?.role === "admin") await loadReliability();
  } catch (err) {
    status(messageOf(err), "error");
  }
}
async function loadReliability() {
  const { raters } = await api<RaterQualityReport>("/raters-quality");
  $("#reliability tbody").replaceChildren(
    ...raters.map((r) => {
      const name = r.displayName || `#${r.raterId}`;
      const block = el("button", { type: "button", className: "block", textContent: r.blocked ? "Unblock" : "Block", disabled: r.raterId === me?.id });
      block.setAttribute("aria-label", `${r.blocked ? "Unblock " : "Block "}${name}`);
      block.addEventListener("click", async () => {
        try {
          await api(`/raters/${r.raterId}`, { method: "PATCH", body: JSON.stringify({ blocked: !r.blocked }) });
          await loadReliability();
          status(name + (r.blocked ? " is unblocked." : " is blocked: their labels and logins are refused."), "ok");
        } catch (err) {
          status(messageOf(err), "error");
        }
      });
      return el(
        "tr",
        { id: `rater-${r.raterId}` },
        el("td", { textContent: name + (r.role === "admin" ? " (admin)" : "") }),
        el("td", { textContent: fmt(r.reliability) }),
        el("td", { textContent: fmt(r.reliabilityWeight, 2) }),
        el("td", { textContent: fmt(r.judgements) }),
        el("td", { textContent: r.heldOutAccuracy === null ? "–" : `${fmt(r.heldOutAccuracy)} (${fmt(r.heldOutPairs)} pairs)` }),
        el("td", { textContent: r.blocked ? "blocked" : "active", className: r.blocked ? "rejected" : "" }),
        el("td", {}, block),
      );
    }),
  );
}

/* Prompts (admins): add, switch on and off. */
async function loadPrompts() {
  const { items } = await api<{ items: Prompt[] }>("/prompts");
  $("#prompt-list").replaceChildren(
    ...items.map((p) => {
      const box = el("input", { type: "checkbox", checked: p.active });
      box.setAttribute("aria-label", `Active: ${p.text}`);
      box.addEventListener("change", async () => {
        try {
          await api(`/prompts/${p.id}`, { method: "PATCH", body: JSON.stringify({ active: box.checked }) });
          status(`Prompt #${p.id}${box.checked ? " is active." : " is off."}`, "ok");
        } catch (err) {
          box.checked = !box.checked;
          status(messageOf(err), "error");
        }
      });
      return el("li", {}, el("label", {}, box, ` ${p.text}`));
    }),
  );
}
$("#prompt-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    await api("/prompts", { method: "POST", body: JSON.stringify({ text: input("#new-prompt").value }) });
    input("#new-prompt").value = "";
    status("Prompt added.", "ok");
    await loadPrompts();
  } catch (err) {
    status(messageOf(err), "error");
  }
});

/*
 * Runs (admins): every training run with its checkpoints, and charts over runs drawn by
 * vega-lite from /app/charts.js (../charts.ts, a static asset, loaded on first use). The
 * CSP forbids Function, so vega interprets its expressions (ast + expressionInterpreter).
 */
let charts: Promise<Charts> | null = null;
function loadCharts(): Promise<Charts> {
  if (!charts) {
    charts = new Promise((resolve, reject) => {
      const s = el("script", { src: "/app/charts.js" });
      s.addEventListener("load", () => resolve((window as unknown as { ranklabCharts: Charts }).ranklabCharts));
      s.addEventListener("error", () => {
        charts = null;
        reject(new Error("could not load the chart library (/app/charts.js)"));
      });
      document.head.appendChild(s);
    });
  }
  return charts;
}
function checkpointState(c: Checkpoint) {
  if (c.rejectedReason) return el("span", { className: "rejected", textContent: `rejected: ${c.rejectedReason}` });
  if (c.active) return el("span", { className: "live", textContent: "active" });
  if (c.activatedAt) return el("span", { textContent: "activated, since replaced" });
  return el("span", { textContent: c.status === "pending" ? "upload pending" : "not activated" });
}
type SeriesName = string | ((r: Run) => string);
/** Long-form rows for one chart: one per run and series with a figure. */
function series(runs: Run[], fields: [SeriesName, keyof RunFigures][]) {
  const rows: { run: number; series: string; value: number }[] = [];
  for (const r of runs) {
    for (const [name, key] of fields) {
      const value = r.figures[key];
      if (value !== null) rows.push({ run: r.id, series: typeof name === "function" ? name(r) : name, value });
    }
  }
  return rows;
}
/** Mean reward is in its reward model's units: one series (colour) per reward model, so no line joins two scales. */
const scoredBy = (r: Run) => (r.figures.rewardModelVersion === null ? "reward model unknown" : `scored by reward v${r.figures.rewardModelVersion}`);
function lineChart(values: unknown[], title: string, zero: boolean): ChartSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 360,
    height: 160,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "run", type: "ordinal", title: "training run" },
      // Three significant digits: with one point vega makes its value the only tick (0.394488 otherwise).
      y: { field: "value", type: "quantitative", title, scale: { zero }, axis: { format: ".3~r" } },
      color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom" } },
    },
  };
}
async function drawChart(selector: string, spec: ChartSpec) {
  const { embed, expressionInterpreter } = await loadCharts();
  const target = $(selector);
  target.dataset.points = String(spec.data.values.length);
  await embed(target, spec, { renderer: "svg", actions: false, tooltip: false, defaultStyle: false, ast: true, expr: expressionInterpreter });
  target.dataset.rendered = "true";
}
async function loadRuns() {
  try {
    const { items } = await api<RunsAnswer>("/runs?limit=50");
    $("#runs tbody").replaceChildren(
      ...items.map((r) =>
        el(
          "tr",
          { id: `run-${r.id}` },
          el("td", { textContent: `#${r.id} ${r.kind}` }),
          el("td", { textContent: r.status }),
          el("td", { textContent: r.finishedAt ? new Date(r.finishedAt).toLocaleString() : "" }),
          el("td", {}, el("ul", { className: "checkpoints" }, ...r.checkpoints.map((c) => el("li", {}, `${c.kind} v${c.version}: `, checkpointState(c))))),
          el("td", { textContent: r.error ? `failed: ${r.error}` : r.summary || "" }),
        ),
      ),
    );
    $("#runs-empty").hidden = items.length > 0;
    const runs = [...items].reverse();
    const labels = series(runs, [
      ["rankings", "usedRankings"],
      ["scores", "usedScores"],
    ]);
    await Promise.all([
      drawChart(
        "#chart-accuracy",
        lineChart(
          series(runs, [
            ["candidate", "heldOutAccuracy"],
            ["active", "activeHeldOutAccuracy"],
          ]),
          "pairwise accuracy",
          false,
        ),
      ),
      drawChart("#chart-reward", lineChart(series(runs, [[scoredBy, "rewardMean"]]), "mean reward", false)),
      drawChart("#chart-kl", lineChart(series(runs, [["policy", "klToReference"]]), "KL (nats)", true)),
      drawChart(
        "#chart-distinct",
        lineChart(
          series(runs, [
            ["policy", "distinct2"],
            ["reference", "referenceDistinct2"],
          ]),
          "distinct-2",
          false,
        ),
      ),
      drawChart("#chart-labels", {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        width: 360,
        height: 160,
        data: { values: labels },
        mark: "bar",
        encoding: {
          x: { field: "run", type: "ordinal", title: "training run" },
          y: { field: "value", type: "quantitative", title: "labels", stack: "zero", axis: { format: "~r", tickMinStep: 1 } },
          color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom" } },
        },
      }),
    ]);
  } catch (err) {
    status(messageOf(err), "error");
  }
}

void startFromLink();
