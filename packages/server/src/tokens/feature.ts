import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { tokenRoutes } from './routes.js';
import { TokenService } from './service.js';

/** Operator API tokens (admin only): create, list, revoke. */
export function tokensFeature(deps: { ctx: Context }): Feature {
  const tokens = new TokenService(deps.ctx);
  return { name: 'tokens', routes: (api) => tokenRoutes(api, tokens) };
}
