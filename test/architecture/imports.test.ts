/**
 * The layering of src/ kept by a test, since no compiler flag keeps it: no import cycle (static,
 * type-only or dynamic `import()`, and the worker URL that joins the two halves of the thread
 * seam), and the socket layer (src/ingest) imports nothing above it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

// `from '…'` (imports and re-exports), bare `import '…'`, `import('…')` and `new URL('…', import.meta.url)`;
// a worker URL built as `./name${EXT}` counts as an import of name.ts.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)(['"`])(\.{1,2}\/[^'"`$]*)(\$\{EXT\})?\1/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[3] === undefined ? m[2] : `${m[2]}.ts`;
    if (spec.endsWith('.ts')) out.push(resolve(dirname(file), spec));
  }
  return out;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const name = (f: string) => relative(SRC, f);

test('the import graph sees every module and the worker URL', () => {
  assert.ok(files.length > 100, `${files.length} modules`);
  const pool = join(SRC, 'pipeline/threads/pool.ts');
  assert.ok(graph.get(pool)?.includes(join(SRC, 'pipeline/threads/receiver-thread.ts')), 'the pool starts receiver-thread.ts');
  for (const [f, deps] of graph)
    for (const d of deps) assert.ok(graph.has(d), `${name(f)} imports ${relative(SRC, d)}, which is not a module of src/`);
});

test('src/ has no import cycle, type-only and dynamic imports included', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const path: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    path.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') cycles.push([...path.slice(path.indexOf(d)), d].map(name).join(' → '));
      else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});

test('src/ingest imports nothing above it (pipeline, export, cli)', () => {
  const above = ['pipeline/', 'export/', 'cli/'];
  const wrong = files
    .filter((f) => name(f).startsWith('ingest/'))
    .flatMap((f) => (graph.get(f) ?? []).filter((d) => above.some((a) => name(d).startsWith(a))).map((d) => `${name(f)} → ${name(d)}`));
  assert.deepEqual(wrong, []);
});

test('config imports nothing from ingest', () => {
  const wrong = files
    .filter((f) => name(f).startsWith('config/'))
    .flatMap((f) => (graph.get(f) ?? []).filter((d) => name(d).startsWith('ingest/')).map((d) => `${name(f)} → ${name(d)}`));
  assert.deepEqual(wrong, []);
});
