import { AgentError } from './core/errors.js';
import { AGENT_ENROLL_PATH, type EnrollRequest, type EnrollResponse } from '@steward/protocol';
import { request, type RequestTls } from './link/http.js';
import { isTlsFailure } from './link/tls.js';

/** node's message, with its code (ECONNREFUSED, CERT_HAS_EXPIRED…) when the message does not say it. */
function causeOf(e: unknown): string {
  const { message, code } = e as { message?: string; code?: string };
  return `${message ?? String(e)}${code && !message?.includes(code) ? ` (${code})` : ''}`;
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

/** `tls`: the pinned CA (link/tls.ts) when the control plane speaks https. */
export async function enroll(server: string, body: EnrollRequest, tls?: RequestTls): Promise<EnrollResponse> {
  let res: Awaited<ReturnType<typeof request>>;
  let text: string;
  try {
    res = await request(server + AGENT_ENROLL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: 30_000,
      ...(tls ? { tls } : {}),
    });
    text = await res.text();
  } catch (e) {
    // A certificate the pinned CA does not vouch for (expired, wrong host, other CA) is not retried.
    if (isTlsFailure(e)) throw new EnrollmentError(`refusing ${server}: its TLS certificate failed verification: ${causeOf(e)}`, 'tls_verification_failed', true);
    throw new EnrollmentError(`cannot reach ${server}: ${causeOf(e)}`, 'connection_failed', false);
  }
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
  tls?: RequestTls,
): Promise<{ server: string; res: EnrollResponse }> {
  let last: unknown;
  for (const server of servers) {
    try {
      return { server, res: await enroll(server, body, tls) };
    } catch (e) {
      if (!(e instanceof EnrollmentError) || e.permanent) throw e;
      last = e;
    }
  }
  throw last;
}
