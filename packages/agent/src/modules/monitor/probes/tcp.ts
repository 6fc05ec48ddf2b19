import { connect } from 'node:net';
import type { ProbeResult } from './probe.js';

/** A TCP connect within the timeout; the connection is closed at once. */
export function probeTcp(spec: { host: string; port: number; timeoutMs: number }): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: spec.host, port: spec.port });
    const done = (r: ProbeResult) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(spec.timeoutMs, () => done({ ok: false, message: `connect to ${spec.host}:${spec.port} timed out after ${spec.timeoutMs} ms` }));
    socket.once('connect', () =>
      done({ ok: true, message: `connected to ${spec.host}:${spec.port} in ${Math.round(performance.now() - started)} ms` }),
    );
    socket.once('error', (e) => done({ ok: false, message: `connect to ${spec.host}:${spec.port}: ${e.message}` }));
  });
}
