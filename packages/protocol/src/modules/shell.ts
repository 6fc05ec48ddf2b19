import { Type, type Static } from '@sinclair/typebox';
import { SecretEnv } from './exec.js';

/** Terminal sizes a session may have: wide enough for any real screen, small enough to bound buffers. */
export const ShellCols = Type.Integer({ minimum: 1, maximum: 1000, description: 'terminal width in columns' });
export const ShellRows = Type.Integer({ minimum: 1, maximum: 1000, description: 'terminal height in rows' });

/** Idle sessions end after this long by default (no input and no output). */
export const DEFAULT_SHELL_IDLE_TIMEOUT_MS = 15 * 60_000;

/**
 * An interactive terminal on the node (`shell.session`): a PTY running `command` (default: the
 * login shell). Its output is the command's 'pty' output stream; input and resizes come as
 * `session.input` / `session.resize` messages while it runs.
 */
export const ShellSessionPayload = Type.Object(
  {
    command: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
        minItems: 1,
        maxItems: 256,
        description: "argv to run in the terminal; default: the user's login shell ($SHELL, else /bin/sh) as a login shell",
      }),
    ),
    cols: ShellCols,
    rows: ShellRows,
    term: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._+-]{1,64}$', description: 'TERM; default xterm-256color' })),
    env: Type.Optional(SecretEnv(16 * 1024, 'added to the environment; values are secret (never shown or kept after the run)')),
    cwd: Type.Optional(Type.String({ pattern: '^/', maxLength: 4096, description: 'absolute working directory; default: the home directory' })),
    idleTimeoutMs: Type.Optional(
      Type.Integer({ minimum: 1000, maximum: 7 * 86_400_000, description: 'ends the session after this long without input or output (default 15 min; capped by the node\'s shell.maxIdleTimeoutMs)' }),
    ),
  },
  { additionalProperties: false },
);
export type ShellSessionPayload = Static<typeof ShellSessionPayload>;

/** What a `shell.session` returns when its program ended (also after an idle timeout or a cancel). */
export const ShellSessionResult = Type.Object({
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  signal: Type.Union([Type.String(), Type.Null()]),
  /** Set when the agent ended the session: 'idle' (idle timeout). */
  endedBy: Type.Optional(Type.String()),
  durationMs: Type.Integer({ minimum: 0 }),
});
export type ShellSessionResult = Static<typeof ShellSessionResult>;
