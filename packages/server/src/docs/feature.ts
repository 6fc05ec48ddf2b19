import type { FastifyInstance } from 'fastify';
import swaggerUi from '@fastify/swagger-ui';
import type { Feature } from '../core/feature.js';

/** Readable API docs at /docs, from the same OpenAPI document as /api/v1/openapi.json. */
export function docsFeature(): Feature {
  return {
    name: 'docs',
    publicRoutes(app: FastifyInstance) {
      void app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
    },
  };
}
