import type { ProbeResult } from './probe.js';

export const DEFAULT_EXPECT_STATUS: [number, number] = [200, 399];

/** One HTTP request (redirects not followed); passes when the status is the expected one or in range. */
export async function probeHttp(spec: {
  url: string;
  method?: 'GET' | 'HEAD';
  expectStatus?: number | [number, number];
  timeoutMs: number;
}): Promise<ProbeResult> {
  const [min, max] = typeof spec.expectStatus === 'number' ? [spec.expectStatus, spec.expectStatus] : (spec.expectStatus ?? DEFAULT_EXPECT_STATUS);
  const signal = AbortSignal.timeout(spec.timeoutMs);
  let status: number;
  try {
    const res = await fetch(spec.url, { method: spec.method ?? 'GET', redirect: 'manual', signal });
    status = res.status;
    await res.body?.cancel().catch(() => {});
  } catch (e) {
    if (signal.aborted) return { ok: false, message: `${spec.url} did not answer within ${spec.timeoutMs} ms` };
    const cause = (e as { cause?: Error }).cause;
    return { ok: false, message: `${spec.url}: ${cause?.message ?? (e as Error).message}` };
  }
  const want = min === max ? `${min}` : `${min}-${max}`;
  if (status < min || status > max) return { ok: false, message: `${spec.url} answered ${status}, expected ${want}` };
  return { ok: true, message: `${spec.url} answered ${status}` };
}
