import { eq, inArray } from "drizzle-orm";
import { checkpoints, completions, prompts, raters, type Rater } from "@ranklab/db";
import type { Db } from "../env.ts";
import { ApiError, notFound } from "../errors.ts";
import { chunk } from "./chunk.ts";

/** The rater a bot or web page acts for; unknown → 404, blocked → 403. */
export async function activeRater(db: Db, raterId: number): Promise<Rater> {
  const [rater] = await db.select().from(raters).where(eq(raters.id, raterId));
  if (!rater) throw notFound(`rater ${raterId}`);
  if (rater.blocked) throw new ApiError(403, "forbidden", `rater ${raterId} is blocked`);
  return rater;
}

/** Throws 404 naming every id in `ids` that has no prompt. */
export async function requirePrompts(db: Db, ids: number[]): Promise<void> {
  const wanted = [...new Set(ids)];
  const found = new Set(
    (await Promise.all(chunk(wanted, 90).map((part) => db.select({ id: prompts.id }).from(prompts).where(inArray(prompts.id, part))))).flat().map((r) => r.id),
  );
  const missing = wanted.filter((id) => !found.has(id));
  if (missing.length > 0) throw notFound(`prompt${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`);
}

/**
 * A group of completions of one prompt (a ranking, a gold group): 404 for a missing
 * prompt or completion, 400 naming any completion of another prompt. The completions, keyed by id.
 */
export async function requireGroupOfPrompt(db: Db, promptId: number, completionIds: number[]) {
  await requirePrompts(db, [promptId]);
  const found = await requireCompletions(db, completionIds);
  const foreign = completionIds.filter((cid) => found.get(cid)!.promptId !== promptId);
  if (foreign.length > 0) {
    throw new ApiError(
      400,
      "invalid_request",
      `completion${foreign.length > 1 ? "s" : ""} ${foreign.join(", ")} belong${foreign.length > 1 ? "" : "s"} to another prompt than ${promptId}`,
      [{ path: "completionIds", message: "every completion must belong to promptId" }],
    );
  }
  return found;
}

/** The completions with these ids, keyed by id; throws 404 naming the missing ones. */
export async function requireCompletions(db: Db, ids: number[]) {
  const wanted = [...new Set(ids)];
  const rows = (
    await Promise.all(
      chunk(wanted, 90).map((part) =>
        db.select({ id: completions.id, promptId: completions.promptId, text: completions.text }).from(completions).where(inArray(completions.id, part)),
      ),
    )
  ).flat();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const missing = wanted.filter((id) => !byId.has(id));
  if (missing.length > 0) throw notFound(`completion${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`);
  return byId;
}

export async function requireCheckpoint(db: Db, id: number) {
  const [checkpoint] = await db.select().from(checkpoints).where(eq(checkpoints.id, id));
  if (!checkpoint) throw notFound(`checkpoint ${id}`);
  return checkpoint;
}
