/**
 * D1 binds at most 100 parameters per statement, so bulk inserts and IN-lists are
 * split: `chunk(rows, Math.floor(100 / paramsPerRow))`.
 */
export const D1_MAX_PARAMS = 100;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function rowsPerStatement(paramsPerRow: number): number {
  return Math.max(1, Math.floor(D1_MAX_PARAMS / paramsPerRow));
}
