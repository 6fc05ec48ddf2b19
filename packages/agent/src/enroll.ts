import { AgentError } from './core/errors.js';
import { AGENT_ENROLL_PATH, type EnrollRequest, type EnrollResponse } from '@steward/protocol';
import { isTlsFailure } from './link/tls.js';

/** fetch puts the useful part (ECONNREFUSED, CERT_HAS_EXPIRED…) in `cause`. */
function causeOf(e: unknown): string {
  const cause = (e as { cause?: { message?: string; code?: string } }).cause;
  return cause?.message ? `${cause.message}${cause.code && !cause.message.includes(cause.code) ? ` (${cause.code})` : ''}` : (e as Error).message;
}

export class EnrollmentError extends AgentError {
  constructor(
    message: string,
    code: string,
    /** A refusal will not change by retrying (bad, expired or used-up token). */
    readonly permanent: boolean,
  ) {
    super(code, message);
  }
}

/** `fetchImpl`: bound to the pinned CA (link/tls.ts) when the control plane speaks https. */
export async function enroll(server: string, body: EnrollRequest, fetchImpl: typeof globalThis.fetch = fetch): Promise<EnrollResponse> {
  let res: Response;
  try {
    res = await fetchImpl(server + AGENT_ENROLL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    // A certificate the pinned CA does not vouch for (expired, wrong host, other CA) is not retried.
    if (isTlsFailure(e)) throw new EnrollmentError(`refusing ${server}: its TLS certificate failed verification: ${causeOf(e)}`, 'tls_verification_failed', true);
    throw new EnrollmentError(`cannot reach ${server}: ${causeOf(e)}`, 'connection_failed', false);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // fall through: reported below with the status
  }
  if (res.status === 201) return json as EnrollResponse;
  const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
  throw new EnrollmentError(
    `enrollment refused (${res.status}): ${err?.message ?? text.slice(0, 200)}`,
    err?.code ?? 'http_' + res.status,
    res.status >= 400 && res.status < 500,
  );
}

/**
 * Enrolls with the first server of the list that answers: an unreachable one is skipped, a
 * refusal (bad token, TLS that does not verify) is final, since every replica would say the same.
 */
export async function enrollFirst(
  servers: readonly string[],
  body: EnrollRequest,
  fetchImpl: typeof globalThis.fetch = fetch,
): Promise<{ server: string; res: EnrollResponse }> {
  let last: unknown;
  for (const server of servers) {
    try {
      return { server, res: await enroll(server, body, fetchImpl) };
    } catch (e) {
      if (!(e instanceof EnrollmentError) || e.permanent) throw e;
      last = e;
    }
  }
  throw last;
}
