/**
 * A tiny entry that runs before the main bundle is compiled: it starts the request the first
 * view needs, so the network and the server work while the browser is still compiling React.
 * Measured (bench/web.ts): the main bundle takes about half a second to compile and run on a
 * loaded machine; the nodes list is on its way during that time instead of after it.
 */
import { startPrefetch } from './api/prefetch.js';
import { loadToken } from './auth/token-store.js';

const token = loadToken();
if (token && /^\/nodes\/?$/.test(location.pathname)) startPrefetch('/api/v1/dashboard/nodes', token);
