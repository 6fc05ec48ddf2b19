import { spawn as spawnPty, type IPty } from 'node-pty';
import { STEWARD_BIN } from './processes.js';
import { waitFor } from './wait.js';

/** The `steward` CLI run inside a pseudo-terminal, as an operator at a terminal runs it. */
export interface CliTerminal {
  pty: IPty;
  /** Everything the CLI printed so far (ANSI sequences included). */
  output(): string;
  type(text: string): void;
  /** Waits until `pattern` shows in what was printed after `from` (an earlier output().length); returns the new end. */
  expect(pattern: RegExp | string, from?: number, timeoutMs?: number): Promise<number>;
  exited: Promise<{ exitCode: number; signal?: number }>;
}

/** `shell`: a /bin/sh command line to run instead of the CLI alone (to look at the terminal after it). */
export function cliInTerminal(args: string[], o: { cols: number; rows: number; env?: NodeJS.ProcessEnv; shell?: string }): CliTerminal {
  const [file, argv] = o.shell === undefined ? [process.execPath, [STEWARD_BIN, ...args]] : ['/bin/sh', ['-c', o.shell]];
  const pty = spawnPty(file, argv, {
    name: 'xterm-256color',
    cols: o.cols,
    rows: o.rows,
    env: { ...process.env, ...o.env } as Record<string, string>,
  });
  let out = '';
  pty.onData((d) => (out += d));
  const exited = new Promise<{ exitCode: number; signal?: number }>((r) => pty.onExit(r));
  return {
    pty,
    output: () => out,
    type: (text) => pty.write(text),
    async expect(pattern, from = 0, timeoutMs = 30_000) {
      const found = await waitFor(
        () => `${String(pattern)} in the CLI's terminal after ${from}; it printed: ${JSON.stringify(out.slice(from))}`,
        () => {
          const rest = out.slice(from);
          if (typeof pattern === 'string') {
            const at = rest.indexOf(pattern);
            return at >= 0 && { end: from + at + pattern.length };
          }
          const m = pattern.exec(rest);
          return m !== null && { end: from + m.index + m[0].length };
        },
        { timeoutMs },
      );
      return found.end;
    },
    exited,
  };
}
