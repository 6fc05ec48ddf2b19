export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Linear interpolation between closest ranks (numpy's default) on sorted values; q in [0, 1]. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('percentile of no samples');
  if (q <= 0) return sorted[0]!;
  if (q >= 1) return sorted[sorted.length - 1]!;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, x) => s + x, 0);
  return {
    n: sorted.length,
    min: round3(sorted[0] ?? NaN),
    p50: round3(percentile(sorted, 0.5)),
    p90: round3(percentile(sorted, 0.9)),
    p99: round3(percentile(sorted, 0.99)),
    max: round3(sorted[sorted.length - 1] ?? NaN),
    mean: round3(sum / sorted.length),
  };
}

export function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
