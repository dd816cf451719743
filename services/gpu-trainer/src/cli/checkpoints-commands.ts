import { UserError } from "../errors.ts";
import { pushModelDir } from "../hub/push-model.ts";
import { parseCommandArgs } from "./args.ts";

/**
 * `checkpoints push DIR --repo owner/name`: a checkpoint folder as a Hub model repository,
 * with a model card written from its config and metrics (hub/push-model.ts). HF_TOKEN
 * (write), HF_ENDPOINT as for downloads.
 */
export async function checkpointsPush(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs("checkpoints push", argv, {
    repo: { type: "string" },
    private: { type: "boolean" },
    quiet: { type: "boolean" },
  });
  if (positionals.length !== 1) throw new UserError("checkpoints push: give one model folder (checkpoints push DIR --repo owner/name)");
  if (!values.repo) throw new UserError("checkpoints push: --repo owner/name is required");
  const result = await pushModelDir(positionals[0]!, values.repo, { quiet: values.quiet ?? false, private: values.private ?? false });
  // stdout: the commit, for scripts; the files went to stderr as they uploaded.
  console.log(`${result.url} ${result.commit}`);
}
