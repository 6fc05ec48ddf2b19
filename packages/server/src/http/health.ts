import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';

/** /healthz waits this long for the store's answer before it reports the store as not answering. */
const HEALTH_STORE_WAIT_MS = 500;

export function healthRoutes(app: FastifyInstance, store: Store, isDraining: () => boolean): void {
  const storeCheck = coalescedPing(store);
  // 200 while the process lives (a restart would not bring the database back); `degraded` while
  // the store does not answer (a PostgreSQL restart), so operators see which replica waits on it.
  app.get('/healthz', { schema: { hide: true } }, async () => {
    const ok = await storeCheck(HEALTH_STORE_WAIT_MS);
    return ok ? { status: 'ok' } : { status: 'degraded', store: 'unavailable' };
  });
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    if (isDraining()) return reply.status(503).send({ error: { code: 'draining', message: 'shutting down' } });
    try {
      await store.ping();
    } catch (err) {
      // Anyone may ask: the store's own error text (host names, users) goes to the log, not the answer.
      app.log.warn({ err }, 'readiness: the store does not answer');
      return reply.status(503).send({ error: { code: 'store_unavailable', message: 'the store does not answer' } });
    }
    return { status: 'ready' };
  });
}

/**
 * One store ping at a time, shared by every caller while it runs (a burst of health probes is
 * one query), answered with false when it fails or takes longer than `waitMs`.
 */
function coalescedPing(store: Store): (waitMs: number) => Promise<boolean> {
  let inFlight: Promise<boolean> | null = null;
  return (waitMs) => {
    inFlight ??= store.ping().then(
      () => true,
      () => false,
    ).finally(() => (inFlight = null));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), waitMs)));
    return Promise.race([inFlight, late]).finally(() => clearTimeout(timer));
  };
}
