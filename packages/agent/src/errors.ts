/**
 * The base of every agent error: a stable snake_case `code` and optional `details`, the same
 * shape as the server's `StewardError` (less the HTTP status). A command that fails with one
 * reports its code in the result's error; anything else is reported as `handler_error`.
 */
export class AgentError extends Error {
  readonly code: string;
  readonly details: unknown;

  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}
