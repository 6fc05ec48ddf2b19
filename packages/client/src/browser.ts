// The parts of the client that run in a browser (`@steward/client/browser`): the dashboard
// bundles these instead of keeping its own copies. Nothing here may import a node builtin or
// undici; test/browser-safe.test.ts checks the whole graph.
export { ApiError, type FieldIssueLike } from './api-error.js';
export { SseParser, type SseMessage } from './sse.js';
