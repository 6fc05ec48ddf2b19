import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';

export function healthRoutes(app: FastifyInstance, store: Store, isDraining: () => boolean): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
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
