// No imports: the API's vitest config loads this (through test/faulty-scorer.ts) in plain Node.

/**
 * The largest body a valid request can be as compact JSON: 128 strings of 2,000 UTF-16
 * units, each at worst 6 bytes (a control character is written `\u0001`), plus the
 * keys and punctuation. The scorer accepts this much, so nothing the Worker accepts is
 * refused downstream (64 texts and 64 prompts of control characters are ~1.5 MB).
 */
export const MAX_SCORE_REQUEST_BYTES = 2 * 64 * (2000 * 6 + 3) + 64;
