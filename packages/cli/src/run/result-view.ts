import { formatDuration } from '@steward/protocol/duration';
import type { Command, Job, JobDetail } from '@steward/protocol';
import { execView } from '../command-view.js';
import { elapsed } from '../format.js';

export interface RunResult {
  node: string;
  nodeId: string;
  commandId: string;
  state: Command['state'];
  exitCode: number | null;
  stdout: string;
  stderr: string;
  error: Command['error'];
}

export function runResult(c: Command, node: string): RunResult {
  const v = execView(c);
  return {
    node,
    nodeId: c.nodeId,
    commandId: c.id,
    state: c.state,
    exitCode: v.exitCode,
    stdout: v.stdout,
    stderr: v.stderr,
    error: c.error,
  };
}

/**
 * `[web-1] failed exit=3 12ms: process exited with code 3`. `streamed`: the output was shown
 * as it came, so the result's tail being cut short does not matter.
 */
export function resultHeader(c: Command, node: string, streamed = false): string {
  const v = execView(c);
  const parts = [`[${node}]`, c.state];
  if (v.exitCode !== null) parts.push(`exit=${v.exitCode}`);
  if (v.signal) parts.push(`signal=${v.signal}`);
  if (v.truncated && !streamed) parts.push('(output truncated)');
  // The agent's own measure when it gave one: server timestamps of a fast command can coincide.
  const measured = (c.result as { durationMs?: unknown } | null)?.durationMs;
  const took = typeof measured === 'number' ? formatDuration(measured) : elapsed(c.startedAt ?? c.dispatchedAt, c.finishedAt);
  if (took !== '-') parts.push(took);
  let line = parts.join(' ');
  if (c.error && c.state !== 'succeeded') line += `: ${c.error.message}`;
  return line;
}

export function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** `3 nodes: 2 succeeded, 1 failed (job job_x, 1.52s)` */
export function summaryLine(job: JobDetail | Job, states: readonly string[], tookMs: number): string {
  const counts = new Map<string, number>();
  for (const s of states) counts.set(s, (counts.get(s) ?? 0) + 1);
  const notStarted = Math.max(0, job.total - states.length);
  if (notStarted) counts.set('not started', notStarted);
  const order = ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired', 'running', 'dispatched', 'pending', 'not started'];
  const parts = [...counts.entries()]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([s, n]) => `${n} ${s}`);
  const nodes = `${job.total} node${job.total === 1 ? '' : 's'}`;
  return `${nodes}: ${parts.join(', ')} (job ${job.id}, ${elapsed(0, tookMs)})`;
}
