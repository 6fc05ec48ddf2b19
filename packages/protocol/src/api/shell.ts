import { Type, type Static } from '@sinclair/typebox';
import { ShellCols, ShellRows, ShellSessionPayload } from '../modules/shell.js';

/** Longest a session may last by default (the command's timeout): a working day. */
export const DEFAULT_SHELL_TIMEOUT_MS = 8 * 3_600_000;
/** One input POST carries at most this much (a paste); clients split larger input. */
export const MAX_SHELL_INPUT = 64 * 1024;

/**
 * `POST /api/v1/nodes/:id/shell`: opens an interactive terminal on the node. It is created as a
 * `shell.session` command (approvals, audit, journal apply); its output is the command's output
 * stream (`GET /api/v1/commands/:id/output`).
 */
export const ShellOpen = Type.Object(
  {
    command: ShellSessionPayload.properties.command,
    cols: ShellCols,
    rows: ShellRows,
    term: ShellSessionPayload.properties.term,
    cwd: ShellSessionPayload.properties.cwd,
    idleTimeoutMs: ShellSessionPayload.properties.idleTimeoutMs,
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 7 * 86_400_000, description: 'longest the session may last (default 8 h)' })),
  },
  { additionalProperties: false },
);
export type ShellOpen = Static<typeof ShellOpen>;

/** `POST /api/v1/commands/:id/input`: keystrokes for a running session, in `seq` order (from 0). */
export const ShellInput = Type.Object(
  {
    seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'per session, increasing; a repeated seq is ignored' }),
    data: Type.String({ maxLength: MAX_SHELL_INPUT, writeOnly: true, description: 'UTF-8 text typed (control keys as their bytes: Ctrl-C is \\u0003)' }),
  },
  { additionalProperties: false },
);
export type ShellInput = Static<typeof ShellInput>;

/** `POST /api/v1/commands/:id/resize`: the terminal's new size. */
export const ShellResize = Type.Object({ cols: ShellCols, rows: ShellRows }, { additionalProperties: false });
export type ShellResize = Static<typeof ShellResize>;

/** Answer of input and resize: accepted and sent towards the node (not proof it arrived). */
export const ShellAccepted = Type.Object({ ok: Type.Literal(true) });
export type ShellAccepted = Static<typeof ShellAccepted>;
