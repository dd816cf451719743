export { app, type AppType } from "./app.ts";
export { createApiClient, type ApiClient } from "./client.ts";
export { ApiError, onError, onNotFound, type ErrorBody, type ErrorCode } from "./errors.ts";
export { MAX_SCORE_REQUEST_BYTES, scoreAnswer, scoreRequest, type ScoreAnswer, type ScoreRequest } from "./lib/score-schema.ts";
export { raterQualityReport, raterQualityRow, type RaterQuality, type RaterQualityReport } from "./lib/rater-quality.ts";
export type { Task } from "./lib/tasks.ts";
export type { CheckpointKind } from "@ranklab/db";
export { validate } from "./middleware/validate.ts";
export { openApiDocument, type OpenApiDocument, type OpenApiOptions, type RouteDoc } from "./openapi.ts";
