import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { agentRoutes } from './agent-routes.js';
import { enrollmentRoutes } from './routes.js';
import { EnrollmentService } from './service.js';
import { signNodeCsr } from '../pki/client-cert.js';
import type { ServerTls } from '../pki/server-tls.js';

/** Enrollment tokens for operators, and the agent's token-for-credential exchange. */
export function enrollmentFeature(deps: { ctx: Context; tls: ServerTls | null }): Feature {
  const tls = deps.tls;
  const enrollment = new EnrollmentService(deps.ctx, tls ? (csr, nodeId) => signNodeCsr(tls.ca, csr, nodeId, deps.ctx.now()) : undefined);
  return {
    name: 'enrollment',
    routes: (api) => enrollmentRoutes(api, enrollment),
    publicRoutes: (app) => agentRoutes(app, enrollment),
  };
}
