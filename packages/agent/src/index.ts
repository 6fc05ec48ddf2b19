export { Agent, startAgent, type RunningAgent, type AgentOptions } from './agent.js';
export { loadAgentConfig, loadConfigLayers, resolveConfig, describeConfig, defaultAgentDataDir, AgentConfigSchema, type AgentConfig, type AgentFlags, type ConfigLayers } from './config.js';
export { loadStoredConfig } from './config/applied-store.js';
export { AgentConnection, type ConnectionHandlers, type ConnectionOptions } from './connection.js';
export { ServerList, type ProposalOutcome } from './link/server-list.js';
export { Backoff, jittered } from './backoff.js';
export { EnrollmentError } from './enroll.js';
export { AGENT_VERSION } from './version.js';
export { DEFAULT_RESULT_TAIL_BYTES } from './core/output.js';
