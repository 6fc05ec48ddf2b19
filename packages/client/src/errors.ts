// The client's error classes alone: what code that only reports errors (the agent's CLI entry)
// imports, without the client and every resource it carries.
export { ApiError } from './api-error.js';
export { ConnectionConfigError } from './connection-error.js';
