import { readdirSync } from 'node:fs';
import { readStatSync } from '../../lib/proc-stat.js';
import { signalGroup } from '../../lib/process-group.js';

/**
 * Signals every process of a terminal's session. An interactive shell puts each job in a
 * process group of its own, so the group of the session leader alone would miss a running
 * `sleep`; without /proc, the leader's group is all that is reached.
 */
export function signalSession(sid: number, signal: NodeJS.Signals | 0): boolean {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return signalGroup(sid, signal);
  }
  let any = false;
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const st = readStatSync(Number(n));
    if (st?.session !== sid || st.state === 'Z') continue;
    try {
      process.kill(st.pid, signal);
      any = true;
    } catch {
      // gone meanwhile
    }
  }
  return any;
}
