import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * Imports in src/ run one way (DESIGN.md §3): a circle between modules fails here, named by its path.
 * Every import counts, `import type` and `import()` too: a type import is still a dependency of the
 * design, and a circle through one is a circle the next refactor turns into a runtime one.
 */

const SRC = resolve(__dirname, '../../src');

/** Every .ts file under a directory, as absolute paths. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The relative specifiers a file imports (static, type-only, re-exports, `import()`, `require`). */
function importsOf(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => name.startsWith('.'));
}

/** `./load` from src/config/policyFile.ts → src/config/load.ts (or …/index.ts); undefined if neither exists. */
function resolveImport(
  from: string,
  specifier: string,
  exists: (path: string) => boolean,
): string | undefined {
  const base = resolve(dirname(from), specifier).replace(/\.js$/, '');
  return [`${base}.ts`, join(base, 'index.ts')].find(exists);
}

type Graph = Map<string, string[]>;

function importGraph(files: Map<string, string>): Graph {
  const exists = (path: string) => files.has(path);
  const graph: Graph = new Map();
  for (const [file, text] of files) {
    const targets = importsOf(text)
      .map((spec) => resolveImport(file, spec, exists))
      .filter((t): t is string => t !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/**
 * One circle per strongly connected component (Tarjan), each as a path that starts and ends at the
 * same module: a component of several modules may hold several circles, and fixing the one shown
 * reveals the next.
 */
function findCycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components.map((component) => cycleThrough(graph, new Set(component)));
}

/** A shortest path from the component's first module (by name) back to itself, inside the component. */
function cycleThrough(graph: Graph, component: Set<string>): string[] {
  const start = [...component].sort()[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path: string[] = [];
        for (let at = v; at !== start; at = cameFrom.get(at)!) path.unshift(at);
        return [start, ...path, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

const show = (cycle: string[], root: string) => cycle.map((p) => relative(root, p)).join(' → ');

describe('import circles', () => {
  it('src/ has none', () => {
    expect(existsSync(join(SRC, 'index.ts'))).toBe(true);
    const files = new Map(sourceFiles(SRC).map((path) => [path, readFileSync(path, 'utf8')]));
    const graph = importGraph(files);
    // sanity: the walk found the tree and its edges (a resolver that finds nothing finds no circle)
    expect(files.size).toBeGreaterThan(50);
    expect(graph.get(join(SRC, 'index.ts'))!.length).toBeGreaterThan(5);
    const cycles = findCycles(graph).map((cycle) => show(cycle, resolve(SRC, '..')));
    expect(cycles).toEqual([]);
  });

  describe('the check itself', () => {
    const root = '/p';
    const graphOf = (files: Record<string, string>) =>
      importGraph(new Map(Object.entries(files).map(([name, text]) => [join(root, name), text])));

    it('names a circle by its path, through type-only imports, re-exports and import()', () => {
      const graph = graphOf({
        'a.ts': "import type { B } from './b';",
        'b.ts': "export { c } from './sub';",
        'sub/index.ts': "export const c = () => import('../a');",
        'leaf.ts': "import { a } from './a';",
      });
      expect(findCycles(graph).map((c) => show(c, root))).toEqual(['a.ts → b.ts → sub/index.ts → a.ts']);
    });

    it('finds a module that imports itself and two separate circles', () => {
      const graph = graphOf({
        'self.ts': "import './self';",
        'x.ts': "import { y } from './y';",
        'y.ts': "import { x } from './x';",
      });
      expect(
        findCycles(graph)
          .map((c) => show(c, root))
          .sort(),
      ).toEqual(['self.ts → self.ts', 'x.ts → y.ts → x.ts']);
    });

    it('ignores packages, comments, strings and require.resolve', () => {
      const graph = graphOf({
        'a.ts': [
          "import { z } from 'zod';",
          "// import './b'",
          'const s = "import(\'./b\')";',
          "const p = require.resolve('./b');",
        ].join('\n'),
        'b.ts': "import './a';",
      });
      expect(findCycles(graph)).toEqual([]);
    });
  });
});
