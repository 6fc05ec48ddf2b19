// Moved to core/ so features and transports (below the composition root) can parse addresses too.
export { parseListen, urlFor } from './core/listen.js';
