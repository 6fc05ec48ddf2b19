import type { Command } from '../api/types.js';
import { duration } from '../format.js';

interface ExecResult {
  exitCode: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
  truncated?: boolean;
  durationMs?: number;
}

function isExec(r: unknown): r is ExecResult {
  return typeof r === 'object' && r !== null && 'stdout' in r && 'stderr' in r;
}

/** A command's outcome: output for exec-like results, the error, or the result as JSON. */
export function CommandResult({ command }: { command: Command }) {
  const r = command.result;
  return (
    <div className="result" data-testid="command-result" data-state={command.state}>
      {command.error && (
        <div className="result-error">
          <strong>{command.error.code}</strong>: {command.error.message}
        </div>
      )}
      {isExec(r) ? (
        <>
          <div className="result-meta">
            exit code <strong>{r.exitCode ?? '—'}</strong>
            {r.signal ? ` · signal ${r.signal}` : ''}
            {r.durationMs !== undefined ? ` · ${duration(r.durationMs)}` : ''}
            {r.truncated ? ' · output truncated' : ''}
          </div>
          {r.stdout && <pre className="output" data-testid="stdout">{r.stdout}</pre>}
          {r.stderr && <pre className="output output-err" data-testid="stderr">{r.stderr}</pre>}
          {!r.stdout && !r.stderr && <div className="muted">no output</div>}
        </>
      ) : r !== null && r !== undefined ? (
        <pre className="output">{JSON.stringify(r, null, 2)}</pre>
      ) : !command.error ? (
        <div className="muted">no result yet</div>
      ) : null}
    </div>
  );
}
