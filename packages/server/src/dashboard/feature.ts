import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DashboardSummary, listOf, NodeSummary, Type } from '@steward/protocol';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { listNodeSummaryRows } from '../store/queries/dashboard.js';
import { countCommandsInState, countJobsInState, countNodesByStatus } from '../store/queries/metrics.js';
import { ensureBundle, WEB_DIST } from './bundle.js';
import { summaryFromRow } from './summaries.js';

const SummaryQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 20_000 })) });

/** Paths that belong to the API and the agents: never answered with the page. */
const NOT_THE_PAGE = /^\/(api|agent|metrics|docs|healthz|readyz)(\/|$|\?)/;

/**
 * The page holds an operator token: only its own scripts may run, it talks only to this origin,
 * and no other site may frame it. (React sets styles through the DOM, which CSP allows.)
 * `'wasm-unsafe-eval'` lets the page compile WebAssembly of its own bundle (asciinema-player's
 * terminal emulator, for session replay); it does not allow eval() of JavaScript.
 */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** The file under dist a URL path names, relative to dist; null when absent or outside it. */
function distFile(urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const full = resolve(WEB_DIST, `.${decoded}`);
  if (!full.startsWith(WEB_DIST + sep) || !existsSync(full) || !statSync(full).isFile()) return null;
  return relative(WEB_DIST, full);
}

/**
 * The web dashboard: the built `packages/web/dist` at `/`, and `index.html` for any other GET
 * a browser makes (client-side routes such as /nodes/web-1), so a reload or a shared link works.
 */
export async function dashboardFeature(deps: { ctx: Context }): Promise<Feature> {
  const available = await ensureBundle(deps.ctx.log);
  const { store } = deps.ctx;
  return {
    name: 'dashboard',
    routes(api: FastifyInstance) {
      api.get('/api/v1/dashboard/summary', { schema: { tags: ['dashboard'], response: { 200: DashboardSummary } } }, async () => {
        const [nodes, pending, dispatched, running, jobs] = await Promise.all([
          countNodesByStatus(store.db),
          countCommandsInState(store.db, 'pending'),
          countCommandsInState(store.db, 'dispatched'),
          countCommandsInState(store.db, 'running'),
          countJobsInState(store.db, 'running'),
        ]);
        const n = (s: string) => nodes.find((r) => r.status === s)?.n ?? 0;
        return { nodes: { online: n('online'), offline: n('offline'), reconnecting: n('reconnecting') }, commands: { pending, dispatched, running }, jobs: { running: jobs } };
      });
      api.withTypeProvider<TypeBoxTypeProvider>().get(
        '/api/v1/dashboard/nodes',
        { schema: { tags: ['dashboard'], querystring: SummaryQuery, response: { 200: listOf(NodeSummary) } } },
        async (req) => ({ items: (await listNodeSummaryRows(store.db, store.dialect, req.query.limit ?? 20_000)).map(summaryFromRow) }),
      );
    },
    publicRoutes(app: FastifyInstance) {
      void app.register(async (scope) => {
        await scope.register(fastifyStatic, { root: WEB_DIST, serve: false });
        const page = (reply: FastifyReply) => {
          if (!available || !existsSync(join(WEB_DIST, 'index.html'))) {
            return reply
              .status(503)
              .type('text/plain; charset=utf-8')
              .send('The dashboard is not built. Build it with `npx vite build packages/web` or restart with STEWARD_WEB_BUILD unset.\n');
          }
          return reply
            .headers({ 'cache-control': 'no-cache', 'content-security-policy': PAGE_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' })
            .sendFile('index.html', { cacheControl: false });
        };
        scope.get('/', { schema: { hide: true } }, (_req, reply) => page(reply));
        scope.get('/*', { schema: { hide: true } }, (req, reply) => {
          const path = req.url.split('?')[0] ?? '/';
          if (NOT_THE_PAGE.test(path)) return reply.callNotFound();
          const file = distFile(path);
          if (path.startsWith('/assets/')) {
            // A missing asset is a 404, not the page: a browser would try to run HTML as JS.
            if (!file) return reply.callNotFound();
            // Vite puts a content hash in every asset name: safe to cache for good.
            return reply.sendFile(file, { maxAge: 365 * 86_400_000, immutable: true });
          }
          if (file && /\.[a-z0-9]+$/i.test(path)) return reply.sendFile(file);
          return page(reply);
        });
      });
    },
  };
}
