import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../env.ts";

/**
 * Runs statements as one D1 batch: one round trip, and all-or-nothing (D1 runs a
 * batch in a transaction). Each statement's result comes back in order.
 */
export async function runBatch<R>(db: Db, statements: BatchItem<"sqlite">[]): Promise<R[]> {
  if (statements.length === 0) return [];
  return (await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]])) as R[];
}
