/**
 * POST /v1/score through the Worker (wrangler dev) against the scorer called
 * directly, 16 concurrent clients each, on a small reward model published through
 * the API: texts/s and p50/p99. The ratio is the edge's overhead.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selectBackend } from "@ranklab/gpu-trainer/backend/select-backend";
import { generateReviews } from "@ranklab/gpu-trainer/data/review-corpus";
import { saveBertDir } from "@ranklab/gpu-trainer/io/bert-dir";
import { BertConfigSchema, bertParamSpecs } from "@ranklab/gpu-trainer/models/bert";
import { disposeParams, initParams } from "@ranklab/gpu-trainer/models/params";
import { publishCheckpoint } from "@ranklab/gpu-trainer/checkpoints/publish";
import { trainerApi } from "@ranklab/gpu-trainer/ranklab-api";
import { startScorerServer } from "@ranklab/gpu-trainer/serve/scorer-server";
import { buildCharVocab } from "@ranklab/gpu-trainer/tokenizer/build-vocab";
import { WordPieceTokenizer } from "@ranklab/gpu-trainer/tokenizer/wordpiece";
import { startApiDev } from "../lib/api-dev.ts";
import { freePort } from "../lib/free-port.ts";
import { ProcessGroup } from "../lib/processes.ts";
import { closedLoop, formatLoad } from "./load.ts";

const CLIENTS = 16;
const TEXTS_PER_REQUEST = 8;

export async function benchScoringEndpoint(seconds: number): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), "ranklab-bench-score-"));
  process.env.RANKLAB_HOME = home;
  const group = new ProcessGroup(() => {});
  let scorer: Awaited<ReturnType<typeof startScorerServer>> | undefined;
  try {
    await selectBackend();
    // The reward model's size is the daemon's default (d=64, 1 layer); its weights do not change the cost.
    const reviews = generateReviews(2000, 1).map((r) => r.text);
    const vocab = buildCharVocab(reviews, 6000);
    const config = BertConfigSchema.parse({
      vocab_size: vocab.tokens.length,
      hidden_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 256,
      max_position_embeddings: 64,
      num_labels: 1,
      classifier_pooling: "mean",
    });
    const model = { config, tokenizer: new WordPieceTokenizer(vocab), params: initParams(bertParamSpecs(config), 1) };
    saveBertDir(join(home, "rm"), model);
    disposeParams(model.params);

    const scorerPort = await freePort();
    const api = await startApiDev({ port: await freePort(), group, vars: { SCORER_URL: `http://127.0.0.1:${scorerPort}` } });
    await publishCheckpoint(trainerApi(api.url, api.tokens.TRAINER_API_TOKEN), join(home, "rm"), { kind: "reward", activate: true });
    scorer = await startScorerServer({
      port: scorerPort,
      apiUrl: api.url,
      apiToken: api.tokens.TRAINER_API_TOKEN,
      home: join(home, "scorer"),
      pollSeconds: 3600,
      log: () => {},
    });

    const body = (i: number) =>
      JSON.stringify({ texts: Array.from({ length: TEXTS_PER_REQUEST }, (_, k) => reviews[(i * TEXTS_PER_REQUEST + k) % reviews.length]!) });
    const headers = { authorization: `Bearer ${api.tokens.BOT_API_TOKEN}`, "content-type": "application/json" };
    await closedLoop(CLIENTS, 1, (_, i) => fetch(`${api.url}/v1/score`, { method: "POST", headers, body: body(i) }));
    const direct = await closedLoop(CLIENTS, seconds, (_, i) =>
      fetch(`${scorer!.url}/score`, { method: "POST", headers: { "content-type": "application/json" }, body: body(i) }),
    );
    const edge = await closedLoop(CLIENTS, seconds, (_, i) => fetch(`${api.url}/v1/score`, { method: "POST", headers, body: body(i) }));
    console.log(`scoring (${CLIENTS} clients, ${TEXTS_PER_REQUEST} reviews a request, ${seconds} s each, 127.0.0.1; reward model d=64 × 1 on onnxruntime)`);
    console.log(`  ${formatLoad("scorer POST /score (baseline)", direct)}   ${(direct.perSecond * TEXTS_PER_REQUEST).toFixed(0)} texts/s`);
    console.log(`  ${formatLoad("Worker POST /v1/score", edge)}   ${(edge.perSecond * TEXTS_PER_REQUEST).toFixed(0)} texts/s`);
    console.log(
      `  ratio Worker/scorer throughput: ${(edge.perSecond / direct.perSecond).toFixed(3)}   p50 latency ratio: ${(edge.p50Ms / direct.p50Ms).toFixed(2)}x`,
    );
  } finally {
    await scorer?.stop();
    await group.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
