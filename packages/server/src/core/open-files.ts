import { readFileSync } from 'node:fs';

/**
 * This process's open-file limit: the soft one, which node raises to the hard one as it starts.
 * Read from /proc (Linux); null where that is not there.
 */
export function openFileLimit(procLimits = '/proc/self/limits'): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(procLimits, 'utf8'));
    if (!m) return null;
    return m[1] === 'unlimited' ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/**
 * How many agent connections this process may hold. Each is a socket, and a process at its
 * open-file limit can accept nothing: not the API, not /healthz, not the dashboard, not a store
 * file (measured: the operator is locked out while the agents stay connected). So unless
 * `limits.agentConnections` says otherwise, agents get the open-file limit minus a reserve of a
 * quarter of it, at most 1,024 files, for everything else.
 */
export function agentConnectionCap(configured: number, fileLimit: number | null): number {
  if (configured > 0) return configured;
  if (fileLimit === null) return Number.POSITIVE_INFINITY;
  return Math.max(1, fileLimit - Math.min(1024, Math.floor(fileLimit / 4)));
}
