import type { FastifyInstance } from 'fastify';
import swaggerUi from '@fastify/swagger-ui';
import type { Feature } from '../core/feature.js';

/**
 * The OpenAPI document at /api/v1/openapi.json (built from the routes' TypeBox schemas) and
 * readable API docs from it at /docs.
 */
export function docsFeature(): Feature {
  return {
    name: 'docs',
    publicRoutes(app: FastifyInstance) {
      app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
      void app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
    },
  };
}
