/**
 * The client could not work out which server to talk to or with what token.
 * A usage problem, not a server answer: the fix is a flag or a variable.
 */
export class ConnectionConfigError extends Error {
  readonly code = 'no_connection';
  readonly field: string;

  constructor(message: string, field: string) {
    super(message);
    this.name = 'ConnectionConfigError';
    this.field = field;
  }
}
