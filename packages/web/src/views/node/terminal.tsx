import { useEffect, useRef, useState } from 'react';
import '@xterm/xterm/css/xterm.css';
import { useSession } from '../../app-context.js';
import { followCommandOutput } from '../../api/command-output.js';
import type { Command } from '../../api/types.js';
import { useEvents } from '../../hooks/use-events.js';
import { Link } from '../../router.js';
import { InputSender } from './input-sender.js';

type Phase = 'opening' | 'awaiting_approval' | 'starting' | 'running' | 'ended' | 'failed';

interface Status {
  phase: Phase;
  commandId?: string;
  exitCode?: number | null;
  message?: string;
}

/** Resizes are sent at most this often while a window is dragged. */
const RESIZE_DEBOUNCE_MS = 150;

const exitOf = (c: Command): number | null => {
  const r = c.result as { exitCode?: unknown } | null;
  return typeof r?.exitCode === 'number' ? r.exitCode : null;
};

/**
 * Interactive terminals on the node: each is a `shell.session` command (so approvals and the
 * audit log apply), its output read from the command's output stream, keystrokes and resizes
 * POSTed back. Several may be open; an ended one stays until closed.
 */
export function TerminalPanel({ nodeId, online }: { nodeId: string; online: boolean }) {
  const [terminals, setTerminals] = useState<number[]>([]);
  const next = useRef(1);
  return (
    <div className="terminals">
      <div className="terminal-actions">
        <button type="button" disabled={!online} onClick={() => setTerminals((t) => [...t, next.current++])} title={online ? undefined : 'The node is offline'}>
          Open terminal
        </button>
        <Link to={`/sessions?node=${encodeURIComponent(nodeId)}`}>Recorded sessions of this node</Link>
      </div>
      {terminals.map((k) => (
        <TerminalSession key={k} nodeId={nodeId} onClose={() => setTerminals((t) => t.filter((x) => x !== k))} />
      ))}
    </div>
  );
}

function TerminalSession({ nodeId, onClose }: { nodeId: string; onClose(): void }) {
  const { api } = useSession();
  const box = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>({ phase: 'opening' });
  const running = useRef<() => void>(() => {});

  // Approval, delivery and start arrive as command events; input may be sent once it runs.
  useEvents((e) => {
    if (e.kind !== 'command.state' || e.commandId !== status.commandId) return;
    if (e.state === 'running') running.current();
    else if (e.state === 'pending' || e.state === 'dispatched') setStatus((s) => (s.phase === 'awaiting_approval' ? { ...s, phase: 'starting' } : s));
  });

  useEffect(() => {
    const el = box.current!;
    let disposed = false;
    const cleanups: (() => void)[] = [];
    void (async () => {
      const [{ Terminal }, { FitAddon }] = await Promise.all([import('@xterm/xterm'), import('@xterm/addon-fit')]);
      if (disposed) return;
      const term = new Terminal({ cursorBlink: true, fontSize: 13, fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', scrollback: 5000 });
      const fit = new FitAddon();
      term.loadAddon(fit);
      term.open(el);
      fit.fit();
      cleanups.push(() => term.dispose());
      let cmd: Command;
      try {
        cmd = await api.openShell(nodeId, { cols: term.cols, rows: term.rows, term: 'xterm-256color' });
      } catch (err) {
        if (!disposed) setStatus({ phase: 'failed', message: (err as Error).message });
        return;
      }
      if (disposed) return;
      const id = cmd.id;
      let live = false;
      let sentSize = `${term.cols}x${term.rows}`;
      let resizeTimer: ReturnType<typeof setTimeout> | undefined;
      const sendSize = () => {
        const size = `${term.cols}x${term.rows}`;
        if (!live || size === sentSize) return;
        sentSize = size;
        api.shellResize(id, term.cols, term.rows).catch(() => {});
      };
      const sender = new InputSender(
        (seq, data) => api.shellInput(id, seq, data),
        (err) => term.write(`\r\n\x1b[31m[input not delivered: ${err.message}]\x1b[0m\r\n`),
      );
      running.current = () => {
        if (live) return;
        live = true;
        setStatus({ phase: 'running', commandId: id });
        sender.start();
        sendSize();
        term.focus();
      };
      setStatus({ phase: cmd.state === 'awaiting_approval' ? 'awaiting_approval' : 'starting', commandId: id });
      if (cmd.state === 'running') running.current();
      const typed = term.onData((d) => sender.push(d));
      const resized = term.onResize(() => {
        clearTimeout(resizeTimer);
        resizeTimer = setTimeout(sendSize, RESIZE_DEBOUNCE_MS);
      });
      const onWindow = () => fit.fit();
      window.addEventListener('resize', onWindow);
      cleanups.push(() => {
        typed.dispose();
        resized.dispose();
        clearTimeout(resizeTimer);
        window.removeEventListener('resize', onWindow);
        sender.stop();
      });
      const stop = followCommandOutput(api.token, id, {
        output(c) {
          if (c.stream === 'pty') {
            running.current();
            term.write(c.data);
          }
        },
        truncated(bytes) {
          term.write(`\r\n\x1b[33m[the control plane stopped keeping output after ${bytes} bytes]\x1b[0m\r\n`);
        },
        end(c) {
          sender.stop();
          live = false;
          const code = exitOf(c);
          term.write(`\r\n\x1b[2m[session ended: ${code !== null ? `exit code ${code}` : c.state}]\x1b[0m\r\n`);
          term.options.disableStdin = true;
          // The exit code says it all; otherwise (a timeout, a cancel) the command's reason does.
          setStatus({ phase: 'ended', commandId: id, exitCode: code, message: code !== null ? undefined : (c.error?.message ?? c.state) });
        },
        error(err) {
          setStatus({ phase: 'failed', commandId: id, message: err.message });
        },
      });
      cleanups.push(stop);
    })();
    return () => {
      disposed = true;
      for (const c of cleanups.reverse()) c();
    };
  }, [api, nodeId]);

  const end = () => {
    if (status.commandId && (status.phase === 'running' || status.phase === 'starting' || status.phase === 'awaiting_approval')) {
      api.cancelCommand(status.commandId).catch(() => {});
    } else onClose();
  };
  return (
    <div className="terminal-session" data-testid="terminal-session" data-phase={status.phase} data-exit-code={status.exitCode ?? undefined}>
      <div className="terminal-head">
        <span>
          {status.commandId ? (
            <>
              session <Link to={`/commands/${status.commandId}`}>{status.commandId}</Link>
            </>
          ) : (
            'opening a session…'
          )}
        </span>
        <span className={`terminal-status phase-${status.phase}`} data-testid="terminal-status">
          {statusText(status)}
        </span>
        <button type="button" className="link" onClick={end}>
          {status.phase === 'ended' || status.phase === 'failed' ? 'Close' : 'End session'}
        </button>
      </div>
      <div className="terminal-box" ref={box} />
    </div>
  );
}

function statusText(s: Status): string {
  switch (s.phase) {
    case 'opening':
      return 'opening…';
    case 'awaiting_approval':
      return `awaiting approval: a policy covers shells here; another operator must approve it (its command page, or steward approve ${s.commandId ?? 'ID'})`;
    case 'starting':
      return 'starting…';
    case 'running':
      return 'connected';
    case 'ended':
      return `ended${s.exitCode !== null && s.exitCode !== undefined ? `, exit code ${s.exitCode}` : ''}${s.message ? ` (${s.message})` : ''}`;
    case 'failed':
      return `could not open: ${s.message ?? 'unknown error'}`;
  }
}
