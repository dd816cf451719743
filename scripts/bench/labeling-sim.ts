/**
 * The simulation behind `npm run bench labeling` (labeling.ts), in pieces a test can run
 * on tiny data: a pool of groups from rank lists (best first), a crowd of simulated raters
 * who answer from a group's true order with their own noise (1 in 4 at random), and the
 * labeling itself, each task picked by the API's own rule (services/api/src/lib/task-picking.ts).
 * The rater rules are the simulated raters' (services/local-raters/src/simulated-rater.ts): a
 * text's worth plus the rater's noise fixed by (rater, text), rounded, equal worth a tie;
 * a careless rater ranks by a hash, without ties.
 */
import { candidateOrder, isUniformPick, pickRankGroup } from "@ranklab/api/task-picking";
import { examplesFromLabels, type PreferenceExample, type RankingLabel, toRankList } from "@ranklab/gpu-trainer/preferences/examples";
import { raterReliability } from "@ranklab/gpu-trainer/preferences/reliability";
import type { RankList } from "@ranklab/gpu-trainer/reward-model/rank-data";
import { seededRandom } from "@ranklab/gpu-trainer/util/random";
import { answersAtRandom, perceivedWorth, type RaterTaste, randomWorth } from "@ranklab/local-raters";

/** A group of completions to rank: its ids (ascending) and texts in true order, best first. */
export interface PoolGroup {
  index: number;
  members: number[];
  texts: string[];
}

/** Rank lists (best first) as groups; list i's completions get ids 4i, 4i+1, … (lists of 4). */
export function poolOf(lists: readonly RankList[]): PoolGroup[] {
  let next = 0;
  return lists.map((l, index) => ({ index, members: l.texts.map(() => next++), texts: [...l.texts] }));
}

export interface SimRater {
  id: number;
  name: string;
  taste: RaterTaste;
  careless: boolean;
}

export interface CrowdOptions {
  size: number;
  /** One rater in `randomEvery` answers every task at random (the issue: 1 in 4). */
  randomEvery: number;
  /** Each careful rater's noise is drawn uniformly from this range (standard deviations of one rank step). */
  noise: [number, number];
}

/** A crowd under `seed`: raters 1…size, every randomEvery-th (at a seeded random offset) answering at random. */
export function makeCrowd(seed: number, options: CrowdOptions): SimRater[] {
  const random = seededRandom(seed * 7919 + 1);
  const offset = Math.floor(random() * options.randomEvery);
  return Array.from({ length: options.size }, (_, i) => {
    const careless = i % options.randomEvery === offset;
    const noise = options.noise[0] + random() * (options.noise[1] - options.noise[0]);
    return { id: i + 1, name: `s${seed}-rater${i + 1}`, careless, taste: { noise, randomShare: careless ? 1 : 0 } };
  });
}

/**
 * One rater's ranking of a group, as the API stores it: best first, ties sharing a level.
 * A text's true worth is its place from the bottom (best of 4: 3); the rater perceives it
 * through perceivedWorth (own noise, rounded); a careless rater ranks by randomWorth.
 */
export function rateGroup(rater: SimRater, group: PoolGroup, labelId: number): RankingLabel {
  const truth = (text: string) => group.texts.length - 1 - group.texts.indexOf(text);
  const careless = answersAtRandom(rater.name, group.texts.join("\t"), rater.taste);
  const worth = group.texts.map((text) => (careless ? randomWorth(rater.name, text) : perceivedWorth(rater.name, text, rater.taste, truth)));
  const distinct = [...new Set(worth)].sort((a, b) => b - a);
  return {
    id: labelId,
    raterId: rater.id,
    promptId: 0,
    prompt: "",
    completions: group.members.map((id, i) => ({ id, text: group.texts[i]!, level: distinct.indexOf(worth[i]!) })),
  };
}

/**
 * The labeling in progress: which rater ranked which group, and the next task by the
 * API's rule (task-picking.ts): candidates in need order (groups begun but under two
 * rankings, then unranked ones, at random among equals), then a uniform pick or, when the
 * condition picks by uncertainty and a model's rewards exist, the group with the closest
 * rewards among the neediest.
 */
export class Labeling {
  readonly labels: RankingLabel[] = [];
  private readonly rankings: number[];
  private readonly done = new Set<string>();
  private readonly random: () => number;

  constructor(
    readonly pool: readonly PoolGroup[],
    readonly crowd: readonly SimRater[],
    seed: number,
    readonly byUncertainty: boolean,
  ) {
    this.rankings = pool.map(() => 0);
    this.random = seededRandom(seed * 104729 + 17);
  }

  /** Labels `count` more tasks: each by a rater drawn at random, on the group the rule picks for them. */
  label(count: number, rewards: ReadonlyMap<number, number>): void {
    for (let k = 0; k < count; k++) {
      const rater = this.crowd[Math.floor(this.random() * this.crowd.length)]!;
      const open = this.pool.filter((g) => !this.done.has(`${rater.id}:${g.index}`)).map((g) => ({ ...g, rankings: this.rankings[g.index]! }));
      const uniform = isUniformPick(this.random);
      const group = pickRankGroup(candidateOrder(open, this.random), uniform, this.byUncertainty ? rewards : new Map());
      if (!group) throw new Error(`rater ${rater.name} has no group left to rank`);
      this.rankings[group.index]!++;
      this.done.add(`${rater.id}:${group.index}`);
      this.labels.push(rateGroup(rater, group, this.labels.length + 1));
    }
  }

  /** How many groups have 0, 1, 2, … rankings. */
  coverage(): number[] {
    const out: number[] = [];
    for (const n of this.rankings) out[n] = (out[n] ?? 0) + 1;
    return Array.from(out, (x) => x ?? 0);
  }
}

/**
 * What the reward model trains on, as the daemon's reward phase makes it: the labels as
 * preference examples, each rater's reliability from their agreement (one-coin
 * Dawid–Skene over every label), and the rank lists, weighted by it when `weighted`.
 */
export function trainingLists(
  labels: readonly RankingLabel[],
  weighted: boolean,
): { lists: RankList[]; examples: PreferenceExample[]; reliability: ReturnType<typeof raterReliability> } {
  const { examples } = examplesFromLabels(labels, []);
  const reliability = raterReliability(examples);
  const lists = examples.map((e) => toRankList(e, weighted ? reliability.get(e.raterId)?.weight : undefined));
  return { lists, examples, reliability };
}
