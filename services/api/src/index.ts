export { app, type AppType } from "./app.ts";
export { createApiClient, type ApiClient } from "./client.ts";
export type { ErrorBody, ErrorCode } from "./errors.ts";
export type { Task } from "./routes/tasks.ts";
