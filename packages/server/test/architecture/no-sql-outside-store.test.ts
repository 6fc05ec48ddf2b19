import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * SQL lives in packages/server/src/store/ only (one small function per operation there), so a
 * schema change has one place to look and every state change stays a conditional update on
 * its transition table. This fails the suite on query building or a `sql` tag anywhere else.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const STORE = join('packages', 'server', 'src', 'store') + sep;

const FORBIDDEN: { what: string; pattern: RegExp }[] = [
  { what: 'selectFrom(', pattern: /\bselectFrom\s*\(/ },
  { what: 'updateTable(', pattern: /\bupdateTable\s*\(/ },
  { what: 'insertInto(', pattern: /\binsertInto\s*\(/ },
  { what: 'deleteFrom(', pattern: /\bdeleteFrom\s*\(/ },
  { what: 'a sql`…` template', pattern: /\bsql\s*(<[^`;]*>)?\s*`/ },
  { what: 'a sql.raw/ref/join/lit/id/table/val helper', pattern: /\bsql\.(raw|ref|join|lit|id|table|val)\s*\(/ },
];

/** `file:line: what` for every forbidden use in `text`. */
export function findSql(file: string, text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const f of FORBIDDEN) if (f.pattern.test(line)) out.push(`${file}:${i + 1}: ${f.what}  ${line.trim()}`);
  });
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist') out.push(...sourceFiles(path));
    } else if (/\.(ts|tsx|mts|cts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) {
      out.push(path);
    }
  }
  return out;
}

function packageSources(): string[] {
  const packages = join(ROOT, 'packages');
  return readdirSync(packages, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => {
      try {
        return sourceFiles(join(packages, e.name, 'src'));
      } catch {
        return []; // a package without src/
      }
    });
}

describe('no SQL outside packages/server/src/store', () => {
  it('finds each forbidden form, with its file and line', () => {
    const text = [
      'const a = 1;',
      "await db.selectFrom('nodes').selectAll().execute();",
      "await db.updateTable('tasks').set({ state }).execute();",
      "await tx.insertInto('jobs').values(row).execute();",
      "await db.deleteFrom ('alerts').execute();",
      'await sql`select 1`.execute(db);',
      'const n = sql<number>`count(*)`;',
      "const r = sql.raw('now()');",
      "const ok = 'a sql literal in a comment is fine'; // selectFromX(",
    ].join('\n');
    const found = findSql('x.ts', text);
    expect(found.map((f) => f.split(': ')[0])).toEqual(['x.ts:2', 'x.ts:3', 'x.ts:4', 'x.ts:5', 'x.ts:6', 'x.ts:7', 'x.ts:8']);
  });

  it('holds for every package source file', () => {
    const files = packageSources();
    // The scan really reaches the packages (a wrong root would pass vacuously).
    expect(files.some((f) => f.includes(join('packages', 'server', 'src', 'tasks')))).toBe(true);
    expect(files.some((f) => f.includes(join('packages', 'agent', 'src')))).toBe(true);
    const found = files
      .map((f) => relative(ROOT, f))
      .filter((f) => !f.startsWith(STORE))
      .flatMap((f) => findSql(f, readFileSync(join(ROOT, f), 'utf8')));
    expect(found, `SQL belongs in ${STORE} (add a small function in store/queries/<area>.ts):\n${found.join('\n')}`).toEqual([]);
  });
});
