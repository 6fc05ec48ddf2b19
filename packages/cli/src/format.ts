/** Human forms of times, sizes and tables for the terminal. */

export function ago(ts: number | null | undefined, now: number = Date.now()): string {
  if (ts === null || ts === undefined) return 'never';
  const diff = now - ts;
  if (diff < 0) return `in ${span(-diff)}`;
  if (diff < 1000) return 'just now';
  return `${span(diff)} ago`;
}

/** `in 59m` for a future time, `expired 3m ago` style callers build from `ago`. */
export function until(ts: number, now: number = Date.now()): string {
  const diff = ts - now;
  return diff >= 0 ? `in ${span(diff)}` : `${span(-diff)} ago`;
}

/** Coarse span: the largest whole unit (s, m, h, d). */
export function span(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${v}B`;
  return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')}${units[i]}`;
}

export function timestamp(ts: number | null | undefined): string {
  return ts === null || ts === undefined ? '-' : new Date(ts).toISOString();
}

/** Left-aligned columns separated by two spaces; no trailing blanks. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function labelsText(labels: Record<string, string> | null | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '-';
}

export function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${state}=${n}`);
  return parts.length ? parts.join(' ') : '-';
}

/** Elapsed time between two timestamps, `-` while it has not ended. */
export function elapsed(from: number | null | undefined, to: number | null | undefined): string {
  if (from === null || from === undefined || to === null || to === undefined) return '-';
  const ms = Math.max(0, to - from);
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  return span(ms);
}
