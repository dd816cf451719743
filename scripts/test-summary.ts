/**
 * Prints vitest's totals as one plain closing line (`tests: N passed, N failed`), so
 * a CI log reader that does not know vitest still sees what ran.
 */
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? ".vitest/results.json";
const results = JSON.parse(readFileSync(file, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number };
console.log(`tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests} skipped`);
