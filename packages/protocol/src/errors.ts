/**
 * Error classes with stable codes. The API renders every one of them as
 * `{ error: { code, message, details } }` with `status`; anything that is not a
 * StewardError is a bug and becomes a 500 `internal`.
 */
export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export class StewardError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, status: number, message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export interface FieldIssue {
  field: string;
  rule: string;
}

export class ValidationError extends StewardError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super('validation_failed', 400, message, { issues });
  }
}

export class UnauthorizedError extends StewardError {
  constructor(message = 'missing or invalid credentials') {
    super('unauthorized', 401, message);
  }
}

export class ForbiddenError extends StewardError {
  constructor(message = 'this token may not do that') {
    super('forbidden', 403, message);
  }
}

/** An approval by the token that asked for the command: a second operator must decide. */
export class SelfApprovalError extends StewardError {
  constructor(message = 'the token that submitted this may not approve it; a second operator token must') {
    super('self_approval_forbidden', 403, message);
  }
}

export class NotFoundError extends StewardError {
  constructor(what: string, id: string) {
    super('not_found', 404, `${what} ${JSON.stringify(id)} does not exist`, { what, id });
  }
}

export class ConflictError extends StewardError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, 409, message, details);
  }
}

export class InvalidStateError extends StewardError {
  constructor(message: string, details?: unknown) {
    super('invalid_state', 409, message, details);
  }
}

export class PayloadTooLargeError extends StewardError {
  constructor(message: string) {
    super('payload_too_large', 413, message);
  }
}

/** A limit was crossed; `retryAfterSeconds` becomes the `Retry-After` header. */
export class TooManyRequestsError extends StewardError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
    details?: unknown,
  ) {
    super(code, 429, message, details ?? { retryAfterSeconds });
  }
}

/**
 * The server is up but too busy for this request right now (agent handshakes during a reconnect
 * storm); `retryAfterSeconds` becomes the `Retry-After` header, which agents honour.
 */
export class UnavailableError extends StewardError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
    details?: unknown,
  ) {
    super(code, 503, message, details ?? { retryAfterSeconds });
  }
}

export class UnknownCommandTypeError extends StewardError {
  constructor(type: string, known: string[]) {
    super('unknown_command_type', 400, `unknown command type ${JSON.stringify(type)}`, { type, known });
  }
}

/** Errors raised while a command runs on the agent; carried in the command's `error`. */
export class CommandFailedError extends StewardError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, 422, message, details);
  }
}

/** An agent refused a pushed config (issue 15); `details.issues` names the fields. */
export class ConfigRejectedError extends StewardError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super('config_rejected', 422, message, { issues });
  }
}

/** A command for a module that is being turned off, or is off, by a pushed config. */
export class ModuleDisabledError extends CommandFailedError {
  constructor(module: string, type: string) {
    super('module_disabled', `module ${JSON.stringify(module)} is turned off on this node; ${type} is not available`, { module, type });
  }
}

/** A plugin that could not be loaded: bad checksum, throws at import or start, wrong shape, name collision. */
export class PluginInvalidError extends StewardError {
  constructor(plugin: string, message: string, details?: Record<string, unknown>) {
    super('plugin_invalid', 422, `plugin ${JSON.stringify(plugin)}: ${message}`, { plugin, ...details });
  }
}

export function isStewardError(e: unknown): e is StewardError {
  return e instanceof StewardError;
}
