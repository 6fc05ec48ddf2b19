import { useRef, useState, type FormEvent } from 'react';
import { useSession } from '../../app-context.js';
import { CommandResult } from '../../components/command-result.js';
import { StatusBadge } from '../../components/badges.js';
import { useCommand } from '../../hooks/use-command.js';
import { useEvents } from '../../hooks/use-events.js';
import { Link } from '../../router.js';

interface Run {
  id: string;
  line: string;
  /** State changes as they arrived on the event stream. */
  steps: { state: string; at: number }[];
}

/** The run box's first choice: a shell line run as `exec.run` with `shell: true`. */
const SHELL = '';

/** A payload typed in the box: a JSON object, or nothing (an empty payload). */
function payloadOf(text: string): Record<string, unknown> {
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error('the payload must be JSON, e.g. {"name": "ada"}');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('the payload must be a JSON object');
  return v as Record<string, unknown>;
}

/**
 * Runs a shell command line on the node (`exec.run` with `shell: true`), or any command type of
 * the node's catalog (built-in or plugin) with a JSON payload, and shows each state change as its
 * event arrives, then the output once the agent's result is stored.
 */
export function RunBox({ nodeId, online, commandTypes = [] }: { nodeId: string; online: boolean; commandTypes?: readonly string[] }) {
  const { api } = useSession();
  const [type, setType] = useState(SHELL);
  const [line, setLine] = useState('');
  const [runs, setRuns] = useState<Run[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // A fast command's events can arrive before the POST that created it answers; keep them
  // until the run exists, or its steps would miss everything but `pending`.
  const early = useRef(new Map<string, Run['steps']>());

  useEvents((e) => {
    if (e.kind !== 'command.state' || e.nodeId !== nodeId) return;
    const step = { state: e.state, at: e.at };
    setRuns((rs) => {
      if (!rs.some((r) => r.id === e.commandId)) {
        const buffered = early.current.get(e.commandId) ?? [];
        early.current.set(e.commandId, [...buffered, step]);
        if (early.current.size > 50) early.current.delete(early.current.keys().next().value!);
        return rs;
      }
      return rs.map((r) => (r.id === e.commandId ? withStep(r, step) : r));
    });
  });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const text = line.trim();
    if (!text && type === SHELL) return;
    setBusy(true);
    setError(null);
    try {
      const c =
        type === SHELL
          ? await api.submit({ node: nodeId, type: 'exec.run', payload: { command: text, shell: true } })
          : await api.submit({ node: nodeId, type, payload: payloadOf(text) });
      const buffered = early.current.get(c.id) ?? [];
      early.current.delete(c.id);
      const shown = type === SHELL ? `$ ${text}` : `${type} ${text || '{}'}`;
      const run = buffered.reduce(withStep, { id: c.id, line: shown, steps: [{ state: 'pending', at: c.createdAt }] } as Run);
      setRuns((rs) => [run, ...rs].slice(0, 10));
      setLine('');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="run-box">
      <form onSubmit={(e) => void submit(e)} className="run-form">
        {commandTypes.length > 0 && (
          <select aria-label="command type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value={SHELL}>shell</option>
            {commandTypes.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        )}
        <span className="prompt">{type === SHELL ? '$' : '{}'}</span>
        <input
          aria-label={type === SHELL ? 'command line' : 'payload'}
          placeholder={type === SHELL ? 'uname -a' : 'payload as JSON, e.g. {"name": "ada"}'}
          value={line}
          onChange={(e) => setLine(e.target.value)}
          spellCheck={false}
          autoComplete="off"
        />
        <button type="submit" disabled={busy || (type === SHELL && !line.trim())}>
          Run
        </button>
      </form>
      {!online && <div className="hint">The node is offline: a command waits for it (up to its TTL, 1 h by default).</div>}
      {error && <div className="form-error" role="alert">{error}</div>}
      {runs.map((r) => (
        <RunOutput key={r.id} run={r} />
      ))}
    </div>
  );
}

function withStep(r: Run, step: Run['steps'][number]): Run {
  if (r.steps.some((s) => s.state === step.state)) return r;
  return { ...r, steps: [...r.steps, step].sort((a, b) => a.at - b.at) };
}

function RunOutput({ run }: { run: Run }) {
  const cmd = useCommand(run.id);
  const state = cmd.data?.state ?? run.steps[run.steps.length - 1]?.state ?? 'pending';
  const t0 = run.steps[0]?.at ?? 0;
  return (
    <div className="run" data-testid="run" data-command-id={run.id}>
      <div className="run-head">
        <code>{run.line}</code>
        <StatusBadge status={state} />
        <Link to={`/commands/${run.id}`} className="muted">
          details
        </Link>
      </div>
      <div className="run-steps">
        {run.steps.map((s) => (
          <span key={s.state}>
            {s.state} <span className="muted">+{s.at - t0} ms</span>
          </span>
        ))}
      </div>
      {cmd.data && (cmd.data.result !== null || cmd.data.error) && <CommandResult command={cmd.data} />}
    </div>
  );
}
