import { createApiClient } from "@ranklab/api/client";
import type { HumanLabel } from "./human-reward.ts";

export interface ApiForwarderOptions {
  url: string;
  /** An admin token: the terminal is trusted like the bot, and also files the completions it scored. */
  token: string;
  /** Who is typing, as the API names raters: cli:<name>. */
  rater: string;
  warn?: (line: string) => void;
}

/**
 * Sends each label typed at the terminal to the API as a score of rater `cli:<name>`
 * (source "terminal"), after filing the prompt and the continuation it scores. The
 * label is already safe in the local file: when the API is unreachable the person is
 * told once and goes on; nothing typed is lost.
 */
export function apiLabelForwarder(options: ApiForwarderOptions): (label: HumanLabel) => Promise<void> {
  const api = createApiClient(options.url, options.token);
  const warn = options.warn ?? ((line: string) => console.error(line));
  const promptIds = new Map<string, number>();
  let raterId: number | undefined;
  let warned = false;
  const ok = async <T>(res: { ok: boolean; status: number; text(): Promise<string>; json(): Promise<T> }, what: string): Promise<T> => {
    if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return async (label) => {
    try {
      raterId ??= (await ok(await api.v1.raters.$post({ json: { externalId: options.rater } }), "registering the rater")).id;
      let promptId = promptIds.get(label.prompt);
      if (promptId === undefined) {
        const { prompts } = await ok(await api.v1.prompts.$post({ json: { prompts: [{ text: label.prompt, source: "terminal" }] } }), "filing the prompt");
        promptId = prompts.find((p) => p.text === label.prompt.trim())?.id ?? prompts[0]!.id;
        promptIds.set(label.prompt, promptId);
      }
      const { completions } = await ok(
        await api.v1.completions.$post({ json: { generation: { via: "ppo human" }, completions: [{ promptId, text: label.response }] } }),
        "filing the completion",
      );
      const stored = await api.v1.scores.$post({ json: { raterId, completionId: completions[0]!.id, value: label.score, source: "terminal" } });
      if (!stored.ok) throw new Error(`storing the score: ${stored.status} ${await stored.text()}`);
      warned = false;
    } catch (err) {
      if (!warned) warn(`could not send the label to ${options.url} (${err instanceof Error ? err.message : String(err)}); it is kept in the labels file`);
      warned = true;
    }
  };
}
