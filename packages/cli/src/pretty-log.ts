/**
 * pino's JSON lines made readable on a terminal: `12:04:05 INFO  control plane listening url=…`.
 * A few lines of code instead of pino-pretty (not a dependency); piped output stays JSON, which
 * is what log collectors want.
 */

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '90' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '35' },
};

/** Fields every line has, or that the line already shows elsewhere. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

function clock(ts: unknown): string {
  if (typeof ts !== 'number') return '--:--:--';
  const d = new Date(ts);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** One log line made readable; a line that is not a pino object is returned as it is. */
export function prettyLogLine(line: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { level?: unknown }).level !== 'number') return line;
    o = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = LEVELS[o.level as number] ?? { name: String(o.level), color: '0' };
  const tag = level.name.padEnd(5);
  const parts = [clock(o.time), color ? `\u001b[${level.color}m${tag}\u001b[0m` : tag];
  if (typeof o.msg === 'string') parts.push(o.msg);
  const err = o.err as { message?: unknown; stack?: unknown } | undefined;
  for (const [k, v] of Object.entries(o)) {
    if (HIDDEN.has(k) || k === 'err' || (k === 'name' && typeof v === 'string' && v.startsWith('steward-'))) continue;
    parts.push(`${k}=${value(v)}`);
  }
  let out = parts.join(' ');
  if (err && typeof err === 'object') out += `\n    ${typeof err.stack === 'string' ? err.stack.replace(/\n/g, '\n    ') : String(err.message)}`;
  return out;
}

/** A destination for the server's logger that writes each line made readable to stdout. */
export function prettyLogStream(color: boolean): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) process.stdout.write(`${prettyLogLine(line, color)}\n`);
    },
  };
}

/** Pretty when stdout is a terminal, JSON otherwise; colour unless NO_COLOR is set. */
export function terminalLogs(): { pretty: boolean; color: boolean } {
  const pretty = process.stdout.isTTY === true;
  return { pretty, color: pretty && !process.env.NO_COLOR };
}
