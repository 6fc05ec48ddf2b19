import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { agentRoutes } from './agent-routes.js';
import { enrollmentRoutes } from './routes.js';
import { EnrollmentService } from './service.js';

/** Enrollment tokens for operators, and the agent's token-for-credential exchange. */
export function enrollmentFeature(deps: { ctx: Context }): Feature {
  const enrollment = new EnrollmentService(deps.ctx);
  return {
    name: 'enrollment',
    routes: (api) => enrollmentRoutes(api, enrollment),
    publicRoutes: (app) => agentRoutes(app, enrollment),
  };
}
