import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The control plane's (and the agent's) rooms and their one-way arrows, checked over the real import graph:
 * a folder-level cycle, a socket outside `agents/`, or a hand-built wire message fails the suite
 * with the file and line that broke the rule.
 */

const PACKAGES = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ROOT = join(PACKAGES, 'server', 'src');

interface Import {
  file: string;
  line: number;
  spec: string;
  /** `import type …`: erased at build time, so it opens no socket. */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function importsOf(file: string): Import[] {
  const found: Import[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|^import\s+)'([^']+)'/g)) found.push({ file, line: i + 1, spec: m[1]!, typeOnly: /^import type /.test(text) });
    });
  return found;
}

/** `agents/link.ts` → `agents`; a file directly under src/ is the composition root. */
function roomOf(file: string, root = ROOT): string {
  const rel = relative(root, file);
  return rel.includes(sep) ? rel.split(sep)[0]! : '(root)';
}

const files = sourceFiles(ROOT);
const imports = files.flatMap(importsOf);

/** Folder → folder edges with one example import for each, for messages. */
function roomEdges(root = ROOT, all = imports): Map<string, Map<string, Import>> {
  const edges = new Map<string, Map<string, Import>>();
  for (const imp of all) {
    if (!imp.spec.startsWith('.')) continue;
    const from = roomOf(imp.file, root);
    const to = roomOf(resolve(dirname(imp.file), imp.spec), root);
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, imp);
  }
  return edges;
}

/** Every cycle's rooms, found by depth-first search (the graph is a few dozen rooms). */
function cycles(edges: Map<string, Map<string, Import>>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (room: string) => {
    state.set(room, 'open');
    path.push(room);
    for (const next of edges.get(room)?.keys() ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(room, 'done');
  };
  for (const room of edges.keys()) if (!state.has(room)) visit(room);
  return found;
}

const where = (i: Import) => `${relative(resolve(PACKAGES, '..'), i.file)}:${i.line}`;

describe.each(['server', 'agent'])('%s import graph', (pkg) => {
  it('has no folder-level cycles (arrows run one way)', () => {
    const root = join(PACKAGES, pkg, 'src');
    const edges = roomEdges(root, sourceFiles(root).flatMap(importsOf));
    const described = cycles(edges).map((c) => c.map((room, k) => (k === 0 ? room : `${room} (${where(edges.get(c[k - 1]!)!.get(room)!)})`)).join(' → '));
    expect(described, 'folder cycles: each arrow names one import that makes it').toEqual([]);
  });
});

describe('server import graph', () => {
  it('keeps the lowest rooms free of the rooms above them', () => {
    const edges = roomEdges();
    // store/ knows only its own tables; core/ only store, cluster and itself.
    const allowed: Record<string, string[]> = { store: [], cluster: ['store'], core: ['store', 'cluster'] };
    const broken: string[] = [];
    for (const [room, ok] of Object.entries(allowed)) {
      for (const [to, imp] of edges.get(room) ?? []) if (!ok.includes(to)) broken.push(`${room} → ${to} (${where(imp)})`);
    }
    expect(broken).toEqual([]);
  });

  it('lets only agents/ touch a socket library', () => {
    const broken = imports.filter((i) => !i.typeOnly && /^(ws|@fastify\/websocket|node:net|node:tls|net|tls)$/.test(i.spec) && roomOf(i.file) !== 'agents' && !i.file.endsWith(`http${sep}app.ts`));
    expect(broken.map(where)).toEqual([]);
  });

  it('builds wire messages only in agents/wire.ts', () => {
    const wireTypes = /type:\s*'(welcome|command\.dispatch|command\.cancel|result\.ack|config|error)'/;
    const broken: string[] = [];
    for (const file of files) {
      if (file === join(ROOT, 'agents', 'wire.ts')) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((text, i) => {
          if (wireTypes.test(text)) broken.push(`${relative(ROOT, file)}:${i + 1}: ${text.trim()}`);
        });
    }
    expect(broken).toEqual([]);
  });

  it('keeps ServerMessage (what reaches an agent) inside agents/ and the replica relay', () => {
    const broken = files
      .filter((f) => !['agents', 'cluster'].includes(roomOf(f)))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((text, i) => ({ text, i }))
          .filter(({ text }) => /\bServerMessage\b/.test(text))
          .map(({ i }) => `${relative(ROOT, f)}:${i + 1}`),
      );
    expect(broken).toEqual([]);
  });
});
