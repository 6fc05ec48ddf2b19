import { StringDecoder } from 'node:string_decoder';
import type { Command as Commander } from 'commander';
import type { StewardClient } from '@steward/client';
import type { Command } from '@steward/protocol';
import type { ShellSessionResult } from '@steward/protocol/modules';
import { durationOption } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { EXIT_FAILURE } from '../errors.js';
import { EXIT_INTERRUPTED } from '../interrupt.js';
import { eprintln } from '../output.js';
import { InputPump, PipedEof, ResizePump } from '../shell/input-pump.js';
import { LocalTerminal } from '../shell/terminal.js';
import { awaitingApprovalNote } from './audit.js';

interface ShellOpts {
  idleTimeout?: number;
  timeout?: number;
  cwd?: string;
}

/** Exit codes after a signal, as a shell reports them (128 + the signal's number). */
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: EXIT_INTERRUPTED, SIGTERM: 143 };
/** How long a signalled `steward shell` tries to close its remote session before it exits anyway. */
const CANCEL_WAIT_MS = 3000;

/** What `steward shell` exits with: the remote program's exit code, 1 when it has none. */
export function shellExitCode(command: Pick<Command, 'result'>): number {
  const code = (command.result as Partial<ShellSessionResult> | null)?.exitCode;
  return typeof code === 'number' ? code : EXIT_FAILURE;
}

/** Why a session ended, when it was not its program's own exit (idle, cancelled, refused…). */
export function endNote(command: Pick<Command, 'state' | 'error'>): string | null {
  if (command.state === 'succeeded' || command.error?.code === 'nonzero_exit') return null;
  return `session ${command.state}${command.error ? `: ${command.error.message}` : ''}`;
}

async function runShell(client: StewardClient, node: string, argv: string[], opts: ShellOpts): Promise<number> {
  const term = new LocalTerminal();
  const { cols, rows } = term.size();
  const session = await client.openShell(node, {
    ...(argv.length ? { command: argv } : {}),
    cols,
    rows,
    ...(term.interactive && process.env.TERM ? { term: process.env.TERM } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.idleTimeout ? { idleTimeoutMs: opts.idleTimeout } : {}),
    ...(opts.timeout ? { timeoutMs: opts.timeout } : {}),
  });
  const id = session.id;
  if (session.state === 'awaiting_approval') eprintln(`${awaitingApprovalNote(id)}; waiting (Ctrl-C withdraws it)`);

  const stop = new AbortController();
  let failure: unknown = null;
  const input = new InputPump(
    (seq, data) => client.shellInput(id, seq, data),
    (e) => {
      failure = e;
      stop.abort();
    },
  );
  const resize = new ResizePump((c, r) => client.shellResize(id, c, r));
  const decoder = new StringDecoder('utf8');
  const onData = (b: Buffer) => input.push(decoder.write(b));
  let stdinEnded = false;
  const eof = new PipedEof(input);
  const onEnd = () => {
    stdinEnded = true;
    input.push(decoder.end());
    eof.ended();
  };
  process.stdin.on('data', onData);
  process.stdin.on('end', onEnd);

  // A signal (terminal closed, kill, Ctrl-C before raw mode) closes the remote session too.
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) return;
    signalled = sig;
    term.restore();
    const timer = setTimeout(() => stop.abort(), CANCEL_WAIT_MS);
    client
      .cancelCommand(id)
      .catch(() => {})
      .finally(() => {
        clearTimeout(timer);
        stop.abort();
      });
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const stopResize = term.onResize(({ cols: c, rows: r }) => resize.push(c, r));

  let end: Command | null = null;
  try {
    for await (const ev of client.commandOutput(id, { signal: stop.signal })) {
      if (ev.event === 'output') {
        eof.output();
        const { stream, data } = ev.chunk;
        if (stream === 'pty' || stream === 'stdout') process.stdout.write(data);
        // The agent's own notes (output cut at its cap) come on stderr.
        else if (stream === 'stderr') process.stderr.write(data);
        else if (stream === 'resize' && !signalled) {
          // The terminal is open on the node: from now on keys go there.
          term.enterRaw();
          input.start();
        }
      } else if (ev.event === 'end') {
        end = ev.command;
        break;
      }
    }
  } finally {
    term.restore();
    stopResize();
    for (const s of signals) process.off(s, onSignal);
    process.stdin.off('data', onData);
    process.stdin.off('end', onEnd);
    input.stop();
    eof.stop();
    if (!stdinEnded) process.stdin.pause();
  }
  if (signalled) {
    eprintln(`\n${signalled}: session ${id} was asked to close`);
    return SIGNAL_EXIT[signalled] ?? EXIT_FAILURE;
  }
  if (failure) throw failure;
  if (!end) throw new Error(`the output of session ${id} ended before the session did`);
  const note = endNote(end);
  if (note) eprintln(`\n${note}`);
  return shellExitCode(end);
}

export function registerShell(program: Commander): void {
  withConnection(
    program
      .command('shell')
      .description('open an interactive terminal on a node (like ssh or kubectl exec -it)')
      .usage('NODE [options] [-- CMD [ARGS…]]')
      .argument('<node>', 'node id or name')
      .argument('[command...]', "program and arguments to run instead of the login shell (after --)")
      .addOption(durationOption('--idle-timeout <duration>', 'close the session after this long without input or output (default 15m)'))
      .addOption(durationOption('--timeout <duration>', 'longest the session may last (default 8h)'))
      .option('--cwd <dir>', 'absolute directory to start in (default: the home directory)')
      .addHelpText(
        'after',
        `
On a terminal, keys go to the node as typed (Ctrl-C interrupts the remote program, Ctrl-D
ends the shell) and the window size follows yours. Without a terminal, standard input is
sent as typed input and the remote input ends when it does:
  echo 'uname -a' | steward shell web1

The session is a shell.session command: it needs the operator role, waits for approval where
a policy applies, and is in the audit log.

Exit status: the remote program's exit code; 1 when it has none (idle timeout, killed,
refused); 129/130/143 when steward shell itself got SIGHUP/SIGINT/SIGTERM (the session is closed).`,
      ),
  ).action(async (node: string, argv: string[], opts: ShellOpts, cmd: Commander) => {
    process.exitCode = await runShell(clientFor(cmd), node, argv, opts);
  });
}
