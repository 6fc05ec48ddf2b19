import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export interface Row {
  benchmark: string;
  metric: string;
  value: number | string;
  unit?: string;
  /** Upper bound the value should stay at or under; absent for informational rows. */
  target?: number;
  /** The target is a lower bound instead (throughputs). */
  higherIsBetter?: boolean;
}

export function met(row: Row): boolean | null {
  if (row.target === undefined || typeof row.value !== 'number') return null;
  return row.higherIsBetter ? row.value >= row.target : row.value <= row.target;
}

function fmt(value: number | string, unit?: string): string {
  const v = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 3 : 1)) : value;
  return unit ? `${v} ${unit}` : v;
}

export function table(rows: Row[]): string {
  const header = ['benchmark', 'metric', 'value', 'target', 'met'];
  const body = rows.map((r) => {
    const m = met(r);
    return [
      r.benchmark,
      r.metric,
      fmt(r.value, r.unit),
      r.target === undefined ? '' : `${r.higherIsBetter ? '≥' : '≤'} ${fmt(r.target, r.unit)}`,
      m === null ? '' : m ? 'yes' : 'NO',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export function hostInfo(): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim(),
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    /** Other work on the machine skews wall-clock numbers; see also the CPU-seconds rows. */
    loadavgAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Writes `results/<timestamp>.json` and `results/latest.json`; returns the first path. */
export function writeResults(doc: Record<string, unknown>, startedAt: Date): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const path = join(RESULTS_DIR, `${stamp}.json`);
  const text = JSON.stringify(doc, null, 2) + '\n';
  writeFileSync(path, text);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), text);
  return path;
}
