/**
 * What other workspaces use of the trainer. Only modules that load no tfjs or onnxruntime
 * are exported here, so importing the package stays cheap (the bot seeds its local run
 * with generated reviews); the trainer itself runs from its CLI (`ranklab-trainer`).
 */
export { generateRankLists, generateReviews, toRankTsv, type Level, type Review } from "./data/review-corpus.ts";
export { seededRandom } from "./util/random.ts";
