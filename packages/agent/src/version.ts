// The agent's version lives in core/ (modules read it too); this path is the package's `./version` export.
export { AGENT_VERSION } from './core/version.js';
