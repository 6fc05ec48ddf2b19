import {
  compile,
  TaskRunPayload,
  type CommandError,
  type DispatchedCommand,
  type RetireClusterTaskResultData,
  type TaskRunResult,
} from '@steward/protocol';
import type { CommandOutcome } from '../../agents/transports/proxied-agent.js';

const isRunPayload = compile(TaskRunPayload);
/** The result keeps the last bytes of the output (as the agent's task module does). */
const TAIL_BYTES = 4096;
/** Output stored as the attempt's output, at most (the module event's bound). */
const MAX_OUTPUT_CHARS = 256 * 1024;

/** POSIX single quotes: the device's `command` handler runs the line through a shell. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The flag that makes an interpreter run its next argument as the program text. */
function inlineFlag(interpreter: string): string {
  return /^(node|nodejs|perl|ruby)/.test(interpreter) ? '-e' : '-c';
}

/**
 * A `task.run` command as a Retire-Cluster task. Both Steward task kinds become the worker's
 * built-in `command` type (a shell line): `exec` is its program and arguments quoted, `script`
 * its interpreter running the script inline (`-c`, or `-e` for node/perl/ruby). The working
 * directory and environment become `cd … &&` and `env K=V` in front.
 */
export function taskAssignment(c: DispatchedCommand): { task: Record<string, unknown> } | { refused: CommandError } {
  if (!isRunPayload.check(c.payload)) {
    return { refused: { code: 'bad_payload', message: 'a task.run for a Retire-Cluster device needs a scheduler-made payload (kind exec or script)' } };
  }
  const p = c.payload;
  let program: string;
  if (p.kind === 'exec') {
    if (!p.command) return { refused: { code: 'bad_payload', message: 'an exec task needs command' } };
    program = [p.command, ...(p.args ?? [])].map(sq).join(' ');
  } else {
    if (!p.interpreter || !p.script) return { refused: { code: 'bad_payload', message: 'a script task needs interpreter and script' } };
    program = [p.interpreter, inlineFlag(p.interpreter), p.script, ...(p.args ?? [])].map(sq).join(' ');
  }
  const env = Object.entries(p.env ?? {});
  if (env.length) program = `env ${env.map(([k, v]) => `${k}=${sq(v)}`).join(' ')} ${program}`;
  if (p.cwd) program = `cd ${sq(p.cwd)} && ${program}`;
  const timeout = Math.max(1, Math.ceil(p.timeoutMs / 1000));
  return {
    task: {
      // The command's id: a result names it, and the command pipeline stores that result once.
      task_id: c.id,
      task_type: 'command',
      priority: 'normal',
      timeout,
      payload: { command: program, timeout },
      requirements: { timeout_seconds: timeout, max_retries: 0 },
      metadata: { steward_task_id: p.taskId, steward_attempt_id: p.attemptId, steward_kind: p.kind },
    },
  };
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** What the device printed or returned, in whichever shape its executor used. */
function outputOf(d: RetireClusterTaskResultData): string {
  const r = d.result;
  if (r?.output !== undefined && r.output !== null) return text(r.output);
  if (r?.stdout || r?.stderr) return `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const rd = d.result_data as { stdout?: unknown; stderr?: unknown } | null | undefined;
  if (rd && typeof rd === 'object' && (typeof rd.stdout === 'string' || typeof rd.stderr === 'string')) return `${text(rd.stdout)}${text(rd.stderr)}`;
  return text(d.result_data);
}

function exitCodeOf(d: RetireClusterTaskResultData): number | null {
  const rd = d.result_data as { return_code?: unknown } | null | undefined;
  const fromData = rd && typeof rd === 'object' && Number.isInteger(rd.return_code) ? (rd.return_code as number) : null;
  return d.result?.exit_code ?? d.result?.return_code ?? fromData;
}

/** A `task_result` as the command's outcome (what ends the attempt), and the output to store. */
export function outcomeOf(d: RetireClusterTaskResultData): { outcome: CommandOutcome; output: string } {
  const output = outputOf(d);
  const bytes = Buffer.from(output, 'utf8');
  const status = d.status.toLowerCase();
  const ok = status === 'completed' || status === 'success' || status === 'succeeded';
  const code = exitCodeOf(d);
  const exitCode = code ?? (ok ? 0 : null);
  const seconds = d.execution_time ?? d.execution_time_seconds ?? 0;
  const metrics = d.result?.metrics;
  const result: TaskRunResult = {
    exitCode,
    signal: null,
    durationMs: Math.round(seconds * 1000),
    cpuMs: metrics?.cpu_time == null ? null : Math.round(metrics.cpu_time * 1000),
    peakMemoryBytes: metrics?.memory_peak ?? null,
    outputBytes: bytes.length,
    truncated: output.length > MAX_OUTPUT_CHARS,
    tail: bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)).toString('utf8'),
  };
  const said = (d.error_message ?? d.error ?? '').slice(0, 1000);
  let outcome: CommandOutcome;
  if (ok && (exitCode === 0 || exitCode === null)) outcome = { state: 'succeeded', result };
  else if (status === 'timeout' || status === 'timed_out') outcome = { state: 'timed_out', result, error: { code: 'timed_out', message: said || 'the device reports the task timed out' } };
  else if (status === 'cancelled') outcome = { state: 'cancelled', result, error: { code: 'cancelled', message: said || 'the device cancelled the task' } };
  else if (exitCode !== null && exitCode !== 0) outcome = { state: 'failed', result, error: { code: 'nonzero_exit', message: `exited with code ${exitCode}${said ? `: ${said}` : ''}` } };
  else outcome = { state: 'failed', result, error: { code: 'task_failed', message: said || `the device reports status ${d.status.slice(0, 64)}` } };
  return { outcome, output: output.slice(0, MAX_OUTPUT_CHARS) };
}
