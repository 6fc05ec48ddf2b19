import { join } from 'node:path';
import type { Context } from '../core/context.js';
import type { Feature, FeatureDeps } from '../features/feature.js';
import { agentArtifactRoutes } from './agent-routes.js';
import { BlobFiles } from './blob-files.js';
import { artifactMaxBytes } from './config.js';
import { artifactRoutes } from './operator-routes.js';
import { ArtifactService } from './service.js';

export { ArtifactService } from './service.js';

const services = new WeakMap<Context, ArtifactService>();

/**
 * The one artifact store of this control plane. Other features (backups, services) call this
 * with their deps and share the instance instead of each opening its own.
 */
export function artifactStoreFor(deps: Pick<FeatureDeps, 'ctx' | 'dataDir'>): ArtifactService {
  let s = services.get(deps.ctx);
  if (!s) {
    s = new ArtifactService(deps.ctx, new BlobFiles(join(deps.dataDir, 'artifacts')), artifactMaxBytes());
    services.set(deps.ctx, s);
  }
  return s;
}

/** Content-addressed file store: `PUT/GET/DELETE /api/v1/artifacts`, agent downloads and uploads. */
export function artifactsFeature(deps: FeatureDeps): Feature {
  const service = artifactStoreFor(deps);
  return {
    name: 'artifacts',
    routes: (api) => artifactRoutes(api, service),
    publicRoutes: (app) => agentArtifactRoutes(app, deps.ctx, service),
    start: () => service.files.cleanTemp(),
  };
}
