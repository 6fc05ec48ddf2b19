import { StewardError } from '@steward/protocol';

/** No agent package to hand out yet: still being built, switched off, or its build failed (the message says which). */
export class AgentPackageUnavailableError extends StewardError {
  constructor(message: string) {
    super('agent_package_unavailable', 503, message);
  }
}
