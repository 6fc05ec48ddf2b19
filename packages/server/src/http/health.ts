import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';

export function healthRoutes(app: FastifyInstance, store: Store, isDraining: () => boolean): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    if (isDraining()) return reply.status(503).send({ error: { code: 'draining', message: 'shutting down' } });
    try {
      await store.ping();
    } catch (err) {
      return reply.status(503).send({ error: { code: 'store_unavailable', message: (err as Error).message } });
    }
    return { status: 'ready' };
  });
}
