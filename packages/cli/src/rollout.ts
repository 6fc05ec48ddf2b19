import type { Service, ServiceNodeStatus } from '@steward/protocol';

export interface NodeRollout {
  /** The node has finished with this revision, one way or the other. */
  done: boolean;
  failed: boolean;
  /** One line for people: `installing 1.1`, `running 1.1`, `rolled back from 1.1: …`. */
  text: string;
}

const FAILED_OUTCOMES = new Set(['rolled_back', 'install_failed', 'start_failed']);

/** Where one node is in rolling out the service's current revision. */
export function nodeRollout(s: Service, n: ServiceNodeStatus): NodeRollout {
  const version = s.spec.version;
  if (n.revision !== s.revision) return { done: false, failed: false, text: `waiting (has revision ${n.revision ?? '-'}, ${n.state})` };
  const o = n.lastOutcome;
  if (o && o.version === version && FAILED_OUTCOMES.has(o.kind)) {
    const what = o.kind === 'rolled_back' ? `rolled back from ${version}` : o.kind === 'install_failed' ? `install of ${version} failed` : `${version} did not start`;
    return { done: true, failed: true, text: `${what}: ${o.reason ?? n.reason ?? 'no reason given'}${o.kind === 'rolled_back' ? ` (${n.version ?? '-'} ${n.state})` : ''}` };
  }
  if (n.state === 'fatal' || n.state === 'failed') return { done: true, failed: true, text: `${n.state}${n.reason ? `: ${n.reason}` : ''}` };
  if (n.version === version && n.state === 'running') return { done: true, failed: false, text: `running ${version}` };
  return { done: false, failed: false, text: `${n.state}${n.version ? ` ${n.version}` : ''}${n.reason ? ` (${n.reason})` : ''}` };
}

/** Every targeted node has reported on the revision. */
export function rolloutDone(s: Service): boolean {
  const done = s.nodes.filter((n) => nodeRollout(s, n).done).length;
  return done >= s.targeted;
}
