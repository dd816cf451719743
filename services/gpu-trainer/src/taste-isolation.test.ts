/**
 * The trainer learns the raters' taste only from their labels: no module the trainer's
 * code imports, directly or through others, may reach the simulated raters' taste model
 * (services/local-raters/src/taste-model.ts), the simulated raters or the labeler bot. This
 * walks the import graph from every source file under services/gpu-trainer/src.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname);
const REPO = resolve(SRC, "../../..");
const TASTE = resolve(REPO, "services/local-raters/src/taste-model.ts");

/** Every import or export specifier in a TypeScript file (static and dynamic). */
function specifiersOf(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']/g)) out.push(m[1]!);
  for (const m of source.matchAll(/(?:^|[\s;])import\s*["']([^"']+)["']/g)) out.push(m[1]!);
  for (const m of source.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) out.push(m[1]!);
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

/** A workspace package's import (`@ranklab/name[/subpath]`) resolved through its package.json exports. */
function resolvePackageImport(spec: string): string {
  const [name, ...rest] = spec.slice("@ranklab/".length).split("/");
  const dir = name === "db" ? resolve(REPO, "db") : resolve(REPO, "services", name!);
  const exports = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { exports?: Record<string, string> }).exports ?? {};
  const target = exports[rest.length ? `./${rest.join("/")}` : "."];
  return target ? resolve(dir, target) : dir;
}

/** Relative imports resolved to files, and the workspace's own packages through their exports. */
function resolveImport(from: string, spec: string): string | undefined {
  if (spec.startsWith("@ranklab/")) return resolvePackageImport(spec);
  if (!spec.startsWith(".")) return undefined;
  const base = resolve(dirname(from), spec);
  return [base, `${base}.ts`, join(base, "index.ts")].find((p) => existsSync(p) && statSync(p).isFile()) ?? base;
}

/** Files reachable from `roots` through imports, with the path that reached each (for the failure message). */
function reachable(roots: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>(roots.map((r) => [r, [r]]));
  const queue = [...roots];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (!file.endsWith(".ts") || !existsSync(file)) continue;
    for (const spec of specifiersOf(readFileSync(file, "utf8"))) {
      const target = resolveImport(file, spec);
      if (!target || seen.has(target)) continue;
      seen.set(target, [...seen.get(file)!, target]);
      queue.push(target);
    }
  }
  return seen;
}

describe("the trainer never sees the raters' taste", () => {
  it("finds import specifiers the way TypeScript writes them", () => {
    const code = `import { a } from "./a.ts";\nimport type { B } from '../b.ts';\nexport { c } from "./c.ts";\nimport "./side.ts";\nconst d = await import("./d.ts");\nimport {\n  e,\n} from "./e.ts";`;
    expect(specifiersOf(code).sort()).toEqual(["../b.ts", "./a.ts", "./c.ts", "./d.ts", "./e.ts", "./side.ts"]);
  });

  it("no import path from services/gpu-trainer/src reaches the taste model, the simulated raters or the labeler bot", () => {
    const roots = sourceFiles(SRC);
    expect(roots.length).toBeGreaterThan(50);
    const graph = reachable(roots);
    // The walk does follow imports (sanity): the daemon's reward phase is reached through training-run.ts.
    expect(graph.get(join(SRC, "daemon/reward-phase.ts"))).toBeDefined();
    const outside = ["services/labeler-bot", "services/local-raters"].map((d) => resolve(REPO, d));
    const leaks = [...graph].filter(([file]) => file === TASTE || outside.some((d) => file === d || file.startsWith(`${d}/`)));
    expect(leaks.map(([, path]) => path.map((p) => relative(REPO, p)).join(" → "))).toEqual([]);
  });

  it("would catch one: the taste model is reachable from the bench that judges with it", () => {
    const bench = resolve(REPO, "scripts/bench/loop.ts");
    expect(reachable([bench]).has(TASTE)).toBe(true);
  });
});
