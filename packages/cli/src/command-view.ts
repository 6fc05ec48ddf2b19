import type { Command as StewardCommand } from '@steward/protocol';
import { elapsed, timestamp } from './format.js';

/** The parts of an `exec.run` result people look at; other types just have no exit code. */
export interface ExecView {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Set when the process was killed by a signal (exitCode is then null). */
  signal: string | null;
  truncated: boolean;
}

export function execView(cmd: StewardCommand): ExecView {
  const r = (cmd.result && typeof cmd.result === 'object' ? cmd.result : {}) as Record<string, unknown>;
  return {
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : null,
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    signal: typeof r.signal === 'string' ? r.signal : null,
    truncated: r.truncated === true,
  };
}

export function describeCommand(c: StewardCommand, nodeName?: string): string {
  const lines = [
    `id:          ${c.id}`,
    `type:        ${c.type}`,
    `node:        ${nodeName && nodeName !== c.nodeId ? `${nodeName} (${c.nodeId})` : c.nodeId}`,
    `state:       ${c.state}`,
    `request id:  ${c.requestId ?? '-'}`,
    `job:         ${c.jobId ?? '-'}`,
    `created:     ${timestamp(c.createdAt)}`,
    `started:     ${timestamp(c.startedAt)}`,
    `finished:    ${timestamp(c.finishedAt)}  (ran ${elapsed(c.startedAt ?? c.dispatchedAt, c.finishedAt)})`,
    `deliveries:  ${c.deliveries}`,
    `payload:     ${JSON.stringify(c.payload)}`,
  ];
  if (c.error) lines.push(`error:       ${c.error.code}: ${c.error.message}`);
  if (c.result !== null && c.result !== undefined) {
    lines.push(`result:`, indent(JSON.stringify(c.result, null, 2)));
  }
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
