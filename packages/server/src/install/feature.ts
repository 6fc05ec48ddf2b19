import type { ArtifactService } from '../artifacts/service.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import type { ServerTls } from '../pki/server-tls.js';
import { AgentPackagePublisher } from './publisher.js';
import { installRoutes } from './routes.js';

/**
 * One-line agent install: the control plane publishes its own agent package at start and serves
 * `GET /install.sh`, `/install/package.json`, `/install/ca.pem` and `/install/<file>` without a
 * credential. See docs/install.md.
 */
export function installFeature(deps: { ctx: Context; artifacts: ArtifactService; tls: ServerTls | null }): Feature {
  const publisher = new AgentPackagePublisher(deps.ctx, deps.artifacts);
  return {
    name: 'install',
    publicRoutes: (app) => installRoutes(app, publisher, deps.artifacts, deps.tls?.caPem ?? null),
    // In the background: readiness does not wait for a package build.
    start: async () => publisher.start(),
    stop: () => publisher.stop(),
  };
}
