import { StewardError } from '@steward/protocol';

/**
 * No agent package to hand out: 503 while it is being built or after its build failed (a retry
 * may find it), 404 when this control plane is set not to publish one (none will come).
 */
export class AgentPackageUnavailableError extends StewardError {
  constructor(message: string, off = false) {
    super('agent_package_unavailable', off ? 404 : 503, message);
  }
}
