/**
 * The base of every agent error: a stable snake_case `code` and optional `details`, the same
 * shape as the server's `StewardError` (less the HTTP status). A command that fails with one
 * reports its code in the result's error; anything else is reported as `handler_error`.
 * A subclass with a fixed set of codes names them: `class X extends AgentError<'a' | 'b'> {}`.
 */
export class AgentError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly details: unknown;

  constructor(code: Code, message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/**
 * Thrown by a handler to end its command `failed` (or `timed_out`) while still
 * returning a result, e.g. `exec.run` with a non-zero exit keeps its stdout/stderr.
 */
export class HandlerFailure extends AgentError {
  readonly result: unknown;
  readonly state: 'failed' | 'timed_out';

  constructor(code: string, message: string, opts: { result?: unknown; state?: 'failed' | 'timed_out'; details?: unknown } = {}) {
    super(code, message, opts.details);
    this.result = opts.result ?? null;
    this.state = opts.state ?? 'failed';
  }
}
