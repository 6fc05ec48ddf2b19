import type { AgentLink } from '../agents/link.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import type { AuditService } from '../audit/service.js';
import type { JobService } from '../jobs/service.js';
import type { JobTracker } from '../jobs/tracker.js';
import { approvalRoutes } from './routes.js';
import { ApprovalService } from './service.js';

/** Approval policies, and the second operator's decision on the commands and jobs they hold. */
export function approvalsFeature(deps: { ctx: Context; commands: CommandService; jobs: JobService; link: AgentLink; tracker: JobTracker; audit: AuditService }): Feature {
  const approvals = new ApprovalService(deps.ctx, deps.commands, deps.link, deps.tracker, deps.audit.record);
  return {
    name: 'approvals',
    routes: (api) => approvalRoutes(api, approvals, deps.commands, deps.jobs),
    sweep: async (now) => void (await approvals.sweep(now)),
  };
}
