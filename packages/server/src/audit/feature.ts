import type { Feature } from '../core/feature.js';
import { auditRoutes } from './routes.js';
import type { AuditService } from './service.js';

/** The hash-chained log of operator actions (fed by the HTTP layer's hook), its listing and its check. */
export function auditFeature(deps: { audit: AuditService }): Feature {
  return {
    name: 'audit',
    routes: (api) => auditRoutes(api, deps.audit),
    // After the HTTP server closed: the last requests' records reach the store before it closes.
    stop: () => deps.audit.flush(),
  };
}
