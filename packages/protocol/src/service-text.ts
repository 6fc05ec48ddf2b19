/**
 * A service's restart policy and health check in words, for the CLI and the dashboard
 * (no TypeBox here, so the dashboard bundle can import it). Only what the spec sets is said;
 * the agent's defaults fill the rest.
 */
import { formatDuration } from './duration.js';

interface RestartLike {
  policy?: string;
  initialDelayMs?: number;
  maxDelayMs?: number;
  multiplier?: number;
  resetAfterMs?: number;
  fatalAfter?: { crashes: number; withinMs: number };
}

interface HealthLike {
  tcp?: { port: number; host?: string };
  http?: { url: string; expectStatus?: number };
  exec?: { command: string; args?: string[] };
  intervalMs?: number;
  timeoutMs?: number;
  graceMs?: number;
}

const d = (ms: number) => formatDuration(ms).replace(/(\d)m0s$/, '$1m').replace(/(\d)h0m$/, '$1h').replace(/\.0+s$/, 's');

/** `always; backoff 1s → 30s (×2), reset after 1m up; fatal after 5 crashes within 1m`. */
export function restartText(r: RestartLike | undefined | null): string {
  if (!r || Object.keys(r).length === 0) return 'defaults';
  const parts: string[] = [];
  if (r.policy) parts.push(r.policy);
  if (r.initialDelayMs !== undefined || r.maxDelayMs !== undefined || r.multiplier !== undefined) {
    const from = r.initialDelayMs !== undefined ? d(r.initialDelayMs) : 'default';
    const to = r.maxDelayMs !== undefined ? ` → ${d(r.maxDelayMs)}` : '';
    parts.push(`backoff ${from}${to}${r.multiplier !== undefined ? ` (×${r.multiplier})` : ''}`);
  }
  if (r.resetAfterMs !== undefined) parts.push(`backoff resets after ${d(r.resetAfterMs)} up`);
  if (r.fatalAfter) parts.push(`fatal after ${r.fatalAfter.crashes} crashes within ${d(r.fatalAfter.withinMs)}`);
  return parts.join('; ');
}

/** `http http://127.0.0.1:8080/health → 200, every 250ms, timeout 1s, must pass within 10s`. */
export function healthText(h: HealthLike | undefined | null): string {
  if (!h) return 'none';
  const probes: string[] = [];
  if (h.tcp) probes.push(`tcp ${h.tcp.host ?? '127.0.0.1'}:${h.tcp.port}`);
  if (h.http) probes.push(`http ${h.http.url}${h.http.expectStatus !== undefined ? ` → ${h.http.expectStatus}` : ''}`);
  if (h.exec) probes.push(`exec ${[h.exec.command, ...(h.exec.args ?? [])].join(' ')}`);
  const timing: string[] = [];
  if (h.intervalMs !== undefined) timing.push(`every ${d(h.intervalMs)}`);
  if (h.timeoutMs !== undefined) timing.push(`timeout ${d(h.timeoutMs)}`);
  if (h.graceMs !== undefined) timing.push(`must pass within ${d(h.graceMs)} of a start`);
  return [probes.join(' and ') || 'no probe', ...timing].join(', ');
}
