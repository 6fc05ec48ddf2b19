import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { HEALTH_DEFAULTS, type HealthCheck } from '@steward/protocol';
import { request } from '../../link/http.js';

export interface HealthResult {
  ok: boolean;
  reason: string | null;
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<HealthResult> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (r: HealthResult) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: `tcp ${host}:${port}: no connection within ${timeoutMs} ms` }), timeoutMs);
    sock.once('connect', () => done({ ok: true, reason: null }));
    sock.once('error', (e) => done({ ok: false, reason: `tcp ${host}:${port}: ${e.message}` }));
  });
}

async function httpCheck(url: string, expect: number | undefined, timeoutMs: number): Promise<HealthResult> {
  try {
    const res = await request(url, { timeoutMs, redirect: 'manual' });
    res.discard();
    const ok = expect === undefined ? res.status >= 200 && res.status < 400 : res.status === expect;
    return ok ? { ok, reason: null } : { ok, reason: `http ${url}: status ${res.status}` };
  } catch (e) {
    return { ok: false, reason: `http ${url}: ${(e as Error).message}` };
  }
}

function execCheck(command: string, args: string[], cwd: string, timeoutMs: number): Promise<HealthResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: 'ignore', timeout: timeoutMs, killSignal: 'SIGKILL' });
    child.once('error', (e) => resolve({ ok: false, reason: `exec ${command}: ${e.message}` }));
    child.once('exit', (code, signal) =>
      resolve(code === 0 ? { ok: true, reason: null } : { ok: false, reason: `exec ${command}: ${signal ? `killed by ${signal}` : `exit code ${code}`}` }),
    );
  });
}

export function checkOnce(h: HealthCheck, cwd: string): Promise<HealthResult> {
  const timeoutMs = h.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs;
  if (h.tcp) return tcpCheck(h.tcp.host ?? '127.0.0.1', h.tcp.port, timeoutMs);
  if (h.http) return httpCheck(h.http.url, h.http.expectStatus, timeoutMs);
  if (h.exec) return execCheck(h.exec.command, h.exec.args ?? [], cwd, timeoutMs);
  return Promise.resolve({ ok: true, reason: null });
}

/**
 * Probes every min(intervalMs, 250 ms) until one probe passes, the process is gone, or `graceMs` has passed
 * since the start. The reason of the last failed probe explains a failure.
 */
export async function waitHealthy(h: HealthCheck, cwd: string, alive: () => boolean, signal?: AbortSignal): Promise<HealthResult> {
  const graceMs = h.graceMs ?? HEALTH_DEFAULTS.graceMs;
  // The start-up gate polls fast whatever the continuous interval, so a start is not held up by it.
  const intervalMs = Math.min(h.intervalMs ?? HEALTH_DEFAULTS.startPollMs, HEALTH_DEFAULTS.startPollMs);
  const end = Date.now() + graceMs;
  let last: HealthResult = { ok: false, reason: 'no probe ran' };
  while (Date.now() < end) {
    if (signal?.aborted) return { ok: false, reason: 'stopped while starting' };
    if (!alive()) return { ok: false, reason: `the process exited before its health check passed${last.reason && last.reason !== 'no probe ran' ? ` (${last.reason})` : ''}` };
    last = await checkOnce(h, cwd);
    if (last.ok) return last;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(intervalMs, end - Date.now()))));
  }
  return { ok: false, reason: `health check did not pass within ${graceMs} ms: ${last.reason}` };
}

/**
 * The continuous check of a running service: one probe every `intervalMs` (each bounded by
 * `timeoutMs`, so a hung process fails it); `failuresBeforeUnhealthy` failures in a row call
 * `unhealthy` once with the last reason, and the monitor ends. A pass resets the count.
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly h: HealthCheck,
    private readonly cwd: string,
    private readonly unhealthy: (reason: string) => void,
  ) {}

  start(): this {
    this.schedule();
    return this;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probe(), this.h.intervalMs ?? HEALTH_DEFAULTS.intervalMs);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    this.timer = null;
    const r = await checkOnce(this.h, this.cwd);
    if (this.stopped) return;
    this.failures = r.ok ? 0 : this.failures + 1;
    const limit = this.h.failuresBeforeUnhealthy ?? HEALTH_DEFAULTS.failuresBeforeUnhealthy;
    if (this.failures >= limit) {
      this.stopped = true;
      this.unhealthy(`health check failed ${this.failures} times in a row: ${r.reason}`);
      return;
    }
    this.schedule();
  }
}
