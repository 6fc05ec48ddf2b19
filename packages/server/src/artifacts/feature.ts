import { join } from 'node:path';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { agentArtifactRoutes } from './agent-routes.js';
import { BlobFiles } from './blob-files.js';
import { artifactMaxBytes } from './config.js';
import { artifactRoutes } from './operator-routes.js';
import { ArtifactService } from './service.js';

/** The one artifact store of a control plane, in its data dir; built once and shared (backups use it). */
export function openArtifactStore(ctx: Context, dataDir: string): ArtifactService {
  return new ArtifactService(ctx, new BlobFiles(join(dataDir, 'artifacts')), artifactMaxBytes());
}

/** Content-addressed file store: `PUT/GET/DELETE /api/v1/artifacts`, agent downloads and uploads. */
export function artifactsFeature(deps: { ctx: Context; artifacts: ArtifactService; tls?: { requireClientCert?: boolean } | null }): Feature {
  const service = deps.artifacts;
  return {
    name: 'artifacts',
    routes: (api) => artifactRoutes(api, service),
    publicRoutes: (app) => agentArtifactRoutes(app, deps.ctx, service, deps.tls?.requireClientCert ?? false),
    start: () => service.files.cleanTemp(),
  };
}
