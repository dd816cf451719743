import type { Checkpoint } from "@ranklab/db";

/** A checkpoint as the API answers it: its row and where its file is served. */
export const publicView = (c: Checkpoint) => ({ ...c, fileUrl: `/v1/checkpoints/${c.id}/file` });
