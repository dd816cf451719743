/** A prompt and the policy's continuation of it. */
export interface Generation {
  prompt: string;
  response: string;
}

/**
 * Anything that turns generations into numbers, batched: the sentiment classifier, a
 * trained reward model, the HTTP scoring endpoint, or a person at a terminal.
 */
export interface RewardFunction {
  readonly name: string;
  score(batch: readonly Generation[]): Promise<number[]>;
  close?(): Promise<void>;
}
