import { html } from "hono/html";

/** The page's style sheet, served at /app/app.css (the CSP allows no inline style). */
export const STYLE = `
  :root { font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; color: #1d1d1f; background: #f6f7f9; }
  body { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
  header { display: flex; align-items: center; justify-content: space-between; }
  h1 { font-size: 1.4rem; margin: .5rem 0; }
  [role=tablist] { display: flex; gap: .25rem; border-bottom: 1px solid #ccd; margin: 1rem 0; }
  [role=tab] { border: 0; background: none; padding: .6rem 1rem; font-size: 1rem; cursor: pointer; border-bottom: 3px solid transparent; }
  [role=tab][aria-selected=true] { border-bottom-color: #2563eb; font-weight: 600; }
  button { font: inherit; padding: .45rem .9rem; border-radius: .4rem; border: 1px solid #99a; background: white; cursor: pointer; }
  button.primary { background: #2563eb; color: white; border-color: #2563eb; }
  button:disabled { opacity: .45; cursor: default; }
  button:focus-visible, input:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
  #prompt { font-size: 1.15rem; margin: 1rem 0 .5rem; min-height: 1.5em; }
  ol#completions { list-style: none; padding: 0; }
  ul#prompt-list { list-style: none; padding: 0; }
  ul#prompt-list li { margin: .3rem 0; }
  li.completion { display: grid; grid-template-columns: 2rem 1fr auto auto auto; gap: .5rem; align-items: center; background: white; border: 1px solid #dde; border-radius: .5rem; padding: .6rem .8rem; margin: .4rem 0; cursor: grab; }
  li.completion.dragging { opacity: .5; }
  .rank { font-weight: 700; color: #2563eb; text-align: center; }
  .move, .tie { padding: .2rem .6rem; }
  .tie[aria-pressed=true] { background: #dbeafe; }
  table { width: 100%; border-collapse: collapse; background: white; }
  th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #e3e3ea; padding: .5rem; }
  td ol { margin: 0; padding-left: 1.2rem; }
  #status { min-height: 1.4em; margin: .5rem 0; }
  #status[data-kind=error] { color: #b91c1c; }
  #status[data-kind=ok] { color: #15803d; }
  .row { display: flex; gap: .5rem; align-items: center; margin: .5rem 0; }
  #charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(26rem, 1fr)); gap: .5rem 1rem; }
  #charts figure { margin: 0; background: white; border: 1px solid #e3e3ea; border-radius: .5rem; padding: .5rem; }
  #charts figcaption { font-weight: 600; margin-bottom: .25rem; }
  h2 { font-size: 1.1rem; margin: 1rem 0 .5rem; }
  h3 { font-size: 1rem; margin: 1rem 0 .5rem; }
  #agreement-figures { display: grid; grid-template-columns: max-content auto; gap: .25rem 1rem; margin: 0; }
  #agreement-figures dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
  td ul.checkpoints { margin: 0; padding-left: 1rem; }
  .rejected { color: #b91c1c; }
  .live { color: #15803d; font-weight: 600; }
  input[type=text], input[type=password] { font: inherit; padding: .45rem; border: 1px solid #99a; border-radius: .4rem; flex: 1; }
`;

/**
 * The labeling page (the seed's step 4): one HTML document with no inline script or
 * style, so its Content-Security-Policy (web/security-headers.ts) can allow only files
 * of its own origin: /app/app.js (services/api/page/browser/app.ts, a static asset) and
 * /app/app.css.
 */
export function labelingPage() {
  return html`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ranklab · 排序标注 Rank labeling</title>
<link rel="stylesheet" href="/app/app.css">
<link rel="icon" href="/app/favicon.svg" type="image/svg+xml">
</head>
<body>
<header><h1>ranklab · 排序标注 Rank labeling</h1><div id="account" hidden><span id="who"></span> <button id="logout" type="button">Log out</button></div></header>
<p id="status" role="status" aria-live="polite"></p>

<section id="login" hidden>
  <form id="login-form" class="row">
    <label for="token">Login token 登录令牌</label>
    <input id="token" type="password" autocomplete="current-password" required>
    <button class="primary" type="submit">Log in</button>
  </form>
</section>

<main id="app" hidden>
  <div role="tablist">
    <button role="tab" data-tab="rank" id="tab-button-rank" aria-controls="tab-rank">Rank 排序</button>
    <button role="tab" data-tab="dataset" id="tab-button-dataset" aria-controls="tab-dataset">Dataset 数据集</button>
    <button role="tab" data-tab="prompts" id="tab-button-prompts" aria-controls="tab-prompts" hidden>Prompts 提示</button>
    <button role="tab" data-tab="runs" id="tab-button-runs" aria-controls="tab-runs" hidden>Runs 训练</button>
  </div>

  <section role="tabpanel" id="tab-rank" aria-labelledby="tab-button-rank">
    <div class="row"><button id="draw" class="primary" type="button">Random prompt 随机提示</button></div>
    <p id="prompt"></p>
    <p>Drag the completions, or use ↑ and ↓, until the best is on top. 拖动或使用 ↑ ↓ 把最好的排在最上面。</p>
    <ol id="completions" aria-label="Completions, best first"></ol>
    <div class="row"><button id="save" class="primary" type="button" disabled>Save ranking 保存排序</button></div>
  </section>

  <section role="tabpanel" id="tab-dataset" aria-labelledby="tab-button-dataset" hidden>
    <section id="agreement" aria-labelledby="agreement-title">
      <h2 id="agreement-title">Agreement 一致性</h2>
      <p id="agreement-source"></p>
      <dl id="agreement-figures">
        <dt>Reward model vs raters (Kendall tau)</dt><dd id="tau-model">–</dd>
        <dt>Rater vs rater (Kendall tau)</dt><dd id="tau-raters">–</dd>
        <dt>Pairs both count</dt><dd id="shared-pairs">–</dd>
        <dt>Reward model's accuracy on your held-out pairs</dt><dd id="own-accuracy">–</dd>
      </dl>
      <div id="reliability-panel" hidden>
        <h3>Raters' reliability 标注者可靠度</h3>
        <table id="reliability"><thead><tr><th>Rater</th><th>Reliability</th><th>Weight</th><th>Judgements</th><th>Held-out accuracy</th><th>Status</th><th></th></tr></thead><tbody></tbody></table>
      </div>
    </section>
    <h2>Rank lists 排序列表</h2>
    <div class="row"><button id="newer" type="button">← Newer</button><button id="older" type="button">Older →</button><a id="tsv" href="/app/api/rankings.tsv" download="rankings.tsv">Download TSV</a></div>
    <table id="dataset"><thead><tr><th>#</th><th>Prompt</th><th>Ranked, best first</th><th>Source</th><th>Time</th></tr></thead><tbody></tbody></table>
    <p id="empty" hidden>No rank lists stored yet.</p>
  </section>

  <section role="tabpanel" id="tab-prompts" aria-labelledby="tab-button-prompts" hidden>
    <form id="prompt-form" class="row"><label for="new-prompt">New prompt</label><input id="new-prompt" type="text" required maxlength="2000"><button class="primary" type="submit">Add</button></form>
    <ul id="prompt-list"></ul>
  </section>
  <section role="tabpanel" id="tab-runs" aria-labelledby="tab-button-runs" hidden>
    <p>Each training run's figures, oldest run on the left: the reward model's held-out accuracy beside the model it would replace, and the policy's mean reward, KL to the reference and distinct-2. 每次训练的指标。</p>
    <div id="charts">
      <figure><figcaption>Held-out accuracy: candidate vs active</figcaption><div id="chart-accuracy" class="chart"></div></figure>
      <figure><figcaption>Mean reward (PPO or GRPO), by the reward model that scored it (each model has its own scale: compare points of one colour)</figcaption><div id="chart-reward" class="chart"></div></figure>
      <figure><figcaption>KL to the reference policy</figcaption><div id="chart-kl" class="chart"></div></figure>
      <figure><figcaption>Distinct-2: policy vs reference</figcaption><div id="chart-distinct" class="chart"></div></figure>
      <figure><figcaption>Labels used</figcaption><div id="chart-labels" class="chart"></div></figure>
    </div>
    <table id="runs"><thead><tr><th>Run</th><th>Status</th><th>Finished</th><th>Checkpoints</th><th>Summary</th></tr></thead><tbody></tbody></table>
    <p id="runs-empty" hidden>No training runs yet.</p>
  </section>
</main>
<script src="/app/app.js" defer></script>
</body>
</html>`;
}
