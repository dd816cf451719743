/**
 * A group's key: its completion ids, ascending, joined by commas. It is what
 * `rankings.completion_set` stores (the column keeps its older name: docs/glossary.md),
 * so every ranking of the same completions shares it; the trainer groups its preference
 * examples by the same key (@ranklab/api/group-key), which is why it lives in one place.
 */
export function groupKey(ids: readonly number[]): string {
  return [...ids].sort((a, b) => a - b).join(",");
}
