/**
 * A failure the user can fix (a bad file, a bad flag): the CLI prints its message
 * alone, without a stack trace, and exits with status 2.
 */
export class UserError extends Error {
  override name = "UserError";
}
