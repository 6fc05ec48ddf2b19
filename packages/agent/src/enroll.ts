import { AgentError } from './core/errors.js';
import { AGENT_ENROLL_PATH, type EnrollRequest, type EnrollResponse } from '@steward/protocol';

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

export async function enroll(server: string, body: EnrollRequest): Promise<EnrollResponse> {
  let res: Response;
  try {
    res = await fetch(server + AGENT_ENROLL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new EnrollmentError(`cannot reach ${server}: ${(e as Error).message}`, 'connection_failed', false);
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
