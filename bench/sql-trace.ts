/**
 * Preloaded into the control-plane child with `--sql-stats` (`node --import tsx --import bench/sql-trace.ts …`):
 * times every better-sqlite3 prepare and statement execution by SQL text, without touching the
 * server's code. The bench reads and resets the numbers through the inspector
 * (`globalThis.__stewardBenchSql`), so only the measured window is counted.
 */
import { createRequire } from 'node:module';

interface Stat {
  calls: number;
  ns: bigint;
  rows: number;
}

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Database = require('better-sqlite3') as {
  new (path: string): { prepare(sql: string): object; close(): void };
  prototype: { prepare(this: unknown, sql: string): unknown };
};

const stats = new Map<string, Stat>();
let prepares = 0;
let prepareNs = 0n;

/** `in (?, ?, ?)` of any length is one statement shape. */
function shape(sql: string): string {
  return sql.replace(/\((\s*\?\s*,)+\s*\?\s*\)/g, '(?…)').replace(/\s+/g, ' ').slice(0, 240);
}

function note(key: string, ns: bigint, rows: number): void {
  let s = stats.get(key);
  if (!s) stats.set(key, (s = { calls: 0, ns: 0n, rows: 0 }));
  s.calls++;
  s.ns += ns;
  s.rows += rows;
}

const probe = new Database(':memory:');
const statementProto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, (...a: unknown[]) => unknown>;
probe.close();

for (const method of ['all', 'run', 'get'] as const) {
  const original = statementProto[method]!;
  statementProto[method] = function (this: { source: string }, ...args: unknown[]) {
    const t = process.hrtime.bigint();
    const out = original.apply(this, args);
    const rows = Array.isArray(out) ? out.length : method === 'run' ? Number((out as { changes?: number }).changes ?? 0) : out ? 1 : 0;
    note(`${method} ${shape(this.source)}`, process.hrtime.bigint() - t, rows);
    return out;
  };
}

const originalPrepare = Database.prototype.prepare;
Database.prototype.prepare = function (this: unknown, sql: string) {
  const t = process.hrtime.bigint();
  try {
    return originalPrepare.call(this, sql);
  } finally {
    prepares++;
    prepareNs += process.hrtime.bigint() - t;
  }
};

export interface SqlSnapshot {
  prepares: number;
  prepareMs: number;
  statements: { sql: string; calls: number; ms: number; usPerCall: number; rows: number }[];
}

(globalThis as Record<string, unknown>).__stewardBenchSql = {
  reset(): void {
    stats.clear();
    prepares = 0;
    prepareNs = 0n;
  },
  snapshot(): SqlSnapshot {
    const statements = [...stats.entries()]
      .map(([sql, s]) => {
        const ms = Number(s.ns) / 1e6;
        return { sql, calls: s.calls, ms: Math.round(ms * 10) / 10, usPerCall: Math.round((ms * 1000) / s.calls), rows: s.rows };
      })
      .sort((a, b) => b.ms - a.ms);
    return { prepares, prepareMs: Math.round(Number(prepareNs) / 1e5) / 10, statements };
  },
};
