import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// lib/'s imports run one way (ARCHITECTURE.md, Rules the layout keeps): no module imports,
// even for types only, a module that imports it back, and no folder a folder that imports it.

const lib = path.resolve(__dirname, '../../lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return /\.m?ts$/.test(entry.name) ? [full] : [];
  });
}

/** Every relative import and export-from of each file under lib/, type-only ones too, as files. */
function importGraph(): Map<string, string[]> {
  const files = sources(lib);
  const known = new Set(files);
  const specifier = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = [...readFileSync(file, 'utf8').matchAll(specifier)].map((match) => {
      const resolved = path.resolve(path.dirname(file), match[1] ?? match[2]);
      const candidates = [resolved.replace(/\.m?js$/, (ext) => (ext === '.mjs' ? '.mts' : '.ts')), `${resolved}.ts`, path.join(resolved, 'index.ts')];
      const target = candidates.find((candidate) => known.has(candidate));
      if (!target) throw new Error(`${path.relative(lib, file)} imports ${match[1] ?? match[2]}, which is no file under lib/`);
      return target;
    });
    graph.set(file, targets);
  }
  return graph;
}

/** The strongly connected components with more than one member (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component);
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

const folderOf = (file: string): string => path.dirname(path.relative(lib, file));

test('no module of lib/ imports, even for its types, a module that imports it back', () => {
  const graph = importGraph();
  expect(graph.size).toBeGreaterThan(50);
  expect(cycles(graph).map((component) => component.map((file) => path.relative(lib, file)).sort())).toEqual([]);
});

test("lib/'s folders depend one way: none imports from a folder that imports from it", () => {
  const folders = new Map<string, string[]>();
  for (const [file, targets] of importGraph()) {
    const from = folderOf(file);
    const to = new Set([...(folders.get(from) ?? []), ...targets.map(folderOf).filter((folder) => folder !== from)]);
    folders.set(from, [...to]);
  }
  expect(folders.size).toBeGreaterThan(8);
  expect(cycles(folders)).toEqual([]);
});

test('the check sees a cycle when there is one', () => {
  const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
  expect(cycles(graph).map((component) => component.sort())).toEqual([['a', 'b', 'c']]);
});
