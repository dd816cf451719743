/**
 * Three checks on the tree itself (issue 24): no module imports itself back through a
 * chain of relative imports (type-only ones included: they make the same knot for a
 * reader and for bundlers); no relative import crosses from one workspace into another
 * (they meet only through package exports: `@ranklab/gpu-trainer/daemon/config`, not
 * `../../services/gpu-trainer/src/daemon/config.ts`); and every repository path a doc
 * names in backticks exists.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const SOURCE_ROOTS = [
  "services/api/src",
  "services/api/test",
  "services/api/page",
  "services/gpu-trainer/src",
  "services/gpu-trainer/bench",
  "services/labeler-bot/src",
  "services/local-raters/src",
  "db/src",
  "scripts",
  "test",
];
/** The npm workspaces (package.json's `workspaces`); everything else (scripts, test, configs) is the root's. */
const WORKSPACES = ["db", "services/api", "services/gpu-trainer", "services/labeler-bot", "services/local-raters"];

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === "node_modules" || name === "fixtures") continue;
    if (statSync(path).isDirectory()) tsFiles(path, out);
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Every cycle of relative imports (and re-exports) among the source files, as paths from the repository root. */
function importCycles(files: readonly string[]): string[][] {
  const known = new Set(files);
  const graph = new Map(
    files.map((file) => {
      const text = readFileSync(file, "utf8");
      const deps = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+["'](\.{1,2}\/[^"']+)["']/g)]
        .map((m) => resolve(dirname(file), m[1]!))
        .filter((d) => known.has(d));
      return [file, deps] as const;
    }),
  );
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === "open") cycles.push([...stack.slice(stack.indexOf(dep)), dep].map((p) => relative(ROOT, p)));
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return cycles;
}

const workspaceOf = (file: string) => WORKSPACES.find((w) => file === join(ROOT, w) || file.startsWith(`${join(ROOT, w)}/`)) ?? "(root)";

/** Relative imports (static, dynamic and re-exports) whose target lies in another workspace than the importing file, as "file → specifier". */
function crossWorkspaceImports(files: readonly string[]): string[] {
  return files.flatMap((file) => {
    const text = readFileSync(file, "utf8");
    const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
    return specs.filter((spec) => workspaceOf(resolve(dirname(file), spec)) !== workspaceOf(file)).map((spec) => `${relative(ROOT, file)} → ${spec}`);
  });
}

// Paths a running system creates under its home (RANKLAB_HOME, a model folder), not files of the repository.
const RUNTIME_PREFIXES = ["models/", ".ranklab/", "logs/", "runs/", "state/", "taste/"];

/** Backticked repository paths in a doc that exist nowhere they could be meant: the repository root, the doc's folder, a service or its src. */
function missingDocPaths(doc: string): string[] {
  const text = readFileSync(doc, "utf8");
  const bases = [
    ROOT,
    dirname(doc),
    ...["api", "gpu-trainer", "labeler-bot", "local-raters"].flatMap((s) => [join(ROOT, "services", s), join(ROOT, "services", s, "src")]),
  ];
  const missing: string[] = [];
  for (const m of text.matchAll(/`([A-Za-z0-9_.\-/]+\.(?:ts|md|toml|json|sql|sh|yml|yaml|mjs|cjs))`/g)) {
    const path = m[1]!;
    if (!path.includes("/") || path.startsWith("/") || RUNTIME_PREFIXES.some((p) => path.startsWith(p))) continue;
    if (!bases.some((base) => existsSync(join(base, path)))) missing.push(path);
  }
  return missing;
}

describe("the tree", () => {
  it("has no import cycle among the services', scripts' and tests' modules", () => {
    const files = SOURCE_ROOTS.flatMap((r) => tsFiles(join(ROOT, r)));
    expect(files.length).toBeGreaterThan(100);
    expect(importCycles(files)).toEqual([]);
  });

  it("crosses from one workspace into another only through package exports, never a relative import", () => {
    const files = [
      ...SOURCE_ROOTS.flatMap((r) => tsFiles(join(ROOT, r))),
      ...readdirSync(ROOT)
        .filter((f) => f.endsWith(".ts"))
        .map((f) => join(ROOT, f)),
    ];
    expect(crossWorkspaceImports(files)).toEqual([]);
    // Each workspace's package.json names every entry another one imports, and each entry exists.
    for (const w of WORKSPACES) {
      const exports = (JSON.parse(readFileSync(join(ROOT, w, "package.json"), "utf8")) as { exports?: Record<string, string> }).exports ?? {};
      for (const [entry, target] of Object.entries(exports)) expect(existsSync(join(ROOT, w, target)), `${w} ${entry} → ${target}`).toBe(true);
    }
  });

  it("names in its docs only paths that exist", () => {
    const docs = [
      "README.md",
      ...readdirSync(join(ROOT, "docs")).map((f) => join("docs", f)),
      ...readdirSync(join(ROOT, "services")).flatMap((s) => ["README.md", "src/engine/README.md"].map((f) => join("services", s, f))),
    ].filter((f) => f.endsWith(".md") && existsSync(join(ROOT, f)));
    expect(docs.length).toBeGreaterThan(5);
    const missing = docs.flatMap((doc) => missingDocPaths(join(ROOT, doc)).map((p) => `${doc}: ${p}`));
    expect(missing).toEqual([]);
  });

  it("would catch a cycle and a stale path (the checks themselves)", () => {
    const dir = join(ROOT, "test", "fixtures-tree-hygiene");
    const files = [join(dir, "a.ts"), join(dir, "b.ts")];
    // The checks read files: a two-module knot and a doc with a stale path, in a folder of their own.
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(files[0]!, 'import type { B } from "./b.ts";\nexport type A = B;\n');
      writeFileSync(files[1]!, 'import { x } from "./a.ts";\nexport type B = number;\nexport const y = x;\n');
      writeFileSync(join(dir, "doc.md"), "See `services/gpu-trainer/src/nowhere.ts` and `a.ts`.\n");
      writeFileSync(join(dir, "c.ts"), 'import { x } from "../../services/gpu-trainer/src/util/random.ts";\nexport const z = x;\n');
      expect(importCycles(files)).toHaveLength(1);
      expect(crossWorkspaceImports([join(dir, "c.ts"), ...files])).toEqual(["test/fixtures-tree-hygiene/c.ts → ../../services/gpu-trainer/src/util/random.ts"]);
      expect(missingDocPaths(join(dir, "doc.md"))).toEqual(["services/gpu-trainer/src/nowhere.ts"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
