/** What one probe saw: success or not, and a line a person can read. */
export interface ProbeResult {
  ok: boolean;
  message: string;
}

/** Runs a probe; a probe that throws has failed with the error's message. */
export async function safely(fn: () => Promise<ProbeResult>): Promise<ProbeResult> {
  try {
    return await fn();
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}
