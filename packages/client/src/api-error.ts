import type { ErrorEnvelope } from '@steward/protocol';

export interface FieldIssueLike {
  field: string;
  rule: string;
}

/**
 * Every failed API call, with the server's stable error code. `status` is 0 when no
 * HTTP answer arrived at all (`connection_failed`), so callers can tell "the server
 * said no" from "there was no server".
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Field issues from a `validation_failed` answer, `[]` when there are none. */
  get issues(): FieldIssueLike[] {
    const issues = (this.details as { issues?: unknown } | null | undefined)?.issues;
    if (!Array.isArray(issues)) return [];
    return issues.filter(
      (i): i is FieldIssueLike => typeof i?.field === 'string' && typeof i?.rule === 'string',
    );
  }

  static fromEnvelope(status: number, body: unknown): ApiError {
    const err = (body as Partial<ErrorEnvelope> | null | undefined)?.error;
    if (err && typeof err.code === 'string' && typeof err.message === 'string') {
      return new ApiError(status, err.code, err.message, err.details);
    }
    const text = typeof body === 'string' ? body.slice(0, 300) : JSON.stringify(body)?.slice(0, 300);
    return new ApiError(status, `http_${status}`, `HTTP ${status}${text ? `: ${text}` : ''}`);
  }

  static connectionFailed(url: string, cause: unknown): ApiError {
    const reason = describeCause(cause);
    return new ApiError(0, 'connection_failed', `cannot reach the Steward server at ${url}: ${reason}`, { url, reason });
  }
}

/** undici hides the useful part (ECONNREFUSED, ENOTFOUND…) in `cause`. */
function describeCause(cause: unknown): string {
  let e = cause as { cause?: unknown; code?: unknown; message?: unknown } | undefined;
  for (let depth = 0; depth < 5 && e?.cause; depth++) e = e.cause as typeof e;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : e === undefined ? '' : String(e);
  if (code && !message.includes(code)) return message ? `${code}: ${message}` : code;
  return message || 'unknown error';
}
