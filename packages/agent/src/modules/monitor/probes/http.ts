import { HttpTimeoutError, request } from '../../../link/http.js';
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
  let status: number;
  try {
    const res = await request(spec.url, { method: spec.method ?? 'GET', redirect: 'manual', timeoutMs: spec.timeoutMs });
    status = res.status;
    res.discard();
  } catch (e) {
    if (e instanceof HttpTimeoutError) return { ok: false, message: `${spec.url} did not answer within ${spec.timeoutMs} ms` };
    return { ok: false, message: `${spec.url}: ${(e as Error).message}` };
  }
  const want = min === max ? `${min}` : `${min}-${max}`;
  if (status < min || status > max) return { ok: false, message: `${spec.url} answered ${status}, expected ${want}` };
  return { ok: true, message: `${spec.url} answered ${status}` };
}
