/**
 * Which group a rank task shows, as pure functions: the API's next-task route
 * (tasks.ts) and `npm run bench labeling` both pick by these, so the benchmark measures
 * the rule the API serves. No database, no clock: the candidates, the reward model's
 * rewards and the random draw come in as arguments.
 */

/** Each group gets at least this many rankings before uncertainty may pass it over, so agreement can be computed on it. */
export const MIN_RANKINGS_PER_GROUP = 2;
/** Share of rank tasks picked without regard to the model, so coverage never starves. */
export const UNIFORM_TASK_SHARE = 0.25;
/** How many candidate groups a pick looks at (the API's query returns at most this many, in candidate order). */
export const RANK_CANDIDATES = 200;

/**
 * A group's need for rankings, lower first: 0 for a group begun but not yet ranked
 * MIN_RANKINGS_PER_GROUP times (finish it, so that agreement can be computed on it),
 * 1 for a group nobody has ranked, 2 for one ranked enough. Without the first tier a
 * pool larger than the label budget would get one ranking per group and no agreement.
 */
export function needTier(rankings: number): 0 | 1 | 2 {
  if (rankings >= MIN_RANKINGS_PER_GROUP) return 2;
  return rankings > 0 ? 0 : 1;
}

/**
 * How unsure the active reward model is about a group: the smallest gap between two of
 * its completions' rewards (a pair it can barely tell apart). Undefined when a reward is
 * missing (a group newer than the model), which counts as most unsure.
 */
export function rewardMargin(ids: readonly number[], rewards: ReadonlyMap<number, number>): number | undefined {
  const r = ids.map((i) => rewards.get(i));
  if (r.some((x) => x === undefined)) return undefined;
  const sorted = (r as number[]).sort((a, b) => a - b);
  let margin = Number.POSITIVE_INFINITY;
  for (let i = 1; i < sorted.length; i++) margin = Math.min(margin, sorted[i]! - sorted[i - 1]!);
  return margin;
}

/** Order of preference among candidate groups: by need tier (begun-but-under-ranked, then unranked), then least sure (smallest margin, unknown first). */
export function byNeed(a: { rankings: number; margin: number | undefined }, b: { rankings: number; margin: number | undefined }): number {
  return (
    needTier(a.rankings) - needTier(b.rankings) || (a.margin ?? Number.NEGATIVE_INFINITY) - (b.margin ?? Number.NEGATIVE_INFINITY) || a.rankings - b.rankings
  );
}

/*
 * Candidate order: need tier, then rankings, then a random draw; at most RANK_CANDIDATES.
 * The API's query orders by candidateOrderSql() (the tier made from needTier's constants)
 * and the labeling benchmark sorts in memory by candidateOrder(); task-uncertainty.test.ts
 * runs both on the same groups, the SQL in D1, and finds the same order.
 */

/** needTier as a SQL expression over a column of ranking counts. */
export const needTierSql = (rankings: string) => `CASE WHEN ${rankings} >= ${MIN_RANKINGS_PER_GROUP} THEN 2 WHEN ${rankings} > 0 THEN 0 ELSE 1 END`;

/** The ORDER BY ... LIMIT clause of the API's candidate query, over a column of ranking counts. */
export const candidateOrderSql = (rankings: string) => `ORDER BY ${needTierSql(rankings)}, ${rankings}, random() LIMIT ${RANK_CANDIDATES}`;

/** The groups a rater may rank in candidate order (in memory): most in need of a ranking first, ties in random order. */
export function candidateOrder<G extends { rankings: number }>(groups: readonly G[], random: () => number, limit = RANK_CANDIDATES): G[] {
  return groups
    .map((g) => ({ g, key: random() }))
    .sort((a, b) => needTier(a.g.rankings) - needTier(b.g.rankings) || a.g.rankings - b.g.rankings || a.key - b.key)
    .slice(0, limit)
    .map((x) => x.g);
}

/** Whether this pick is one of the uniform share (drawn once per task). */
export const isUniformPick = (random: () => number) => random() < UNIFORM_TASK_SHARE;

/**
 * The group a rank task shows, from `candidates` in candidate order: on a uniform pick,
 * or without any reward from the active model, the first (most in need, at random among
 * equals, as before any model existed); otherwise the one byNeed puts first, i.e. among
 * the neediest tier the group whose rewards lie closest together.
 */
export function pickRankGroup<G extends { members: readonly number[]; rankings: number }>(
  candidates: readonly G[],
  uniform: boolean,
  rewards: ReadonlyMap<number, number>,
): G | undefined {
  if (candidates.length === 0) return undefined;
  if (uniform || rewards.size === 0) return candidates[0];
  let best = candidates[0]!;
  let bestKey = { rankings: best.rankings, margin: rewardMargin(best.members, rewards) };
  for (const g of candidates.slice(1)) {
    const key = { rankings: g.rankings, margin: rewardMargin(g.members, rewards) };
    if (byNeed(key, bestKey) < 0) [best, bestKey] = [g, key];
  }
  return best;
}
