// Node-only helpers (`@steward/protocol/node`): they use node:crypto, node:os and node:path,
// so the root entry stays loadable in a browser (the dashboard bundle).
export * from './local-server.js';
export * from './secret.js';
export * from './webhook-signature.js';
export * from './tls-pin.js';
export * from './signing.js';
export * from './atomic-file.js';
export * from './utf8.js';
export * from './config-revision.js';
