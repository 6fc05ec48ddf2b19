import { Command } from 'commander';
import { AGENT_VERSION } from '@steward/agent/version';
import { agentCommand } from './commands/agent.js';
import { runAndExit } from './exit.js';

/**
 * The agent alone (`steward-agent --server … --enroll-token …`): the options of `steward agent`
 * without the control plane or the operator commands, so the agent package carries only what a
 * node runs. Built into dist/steward-agent.mjs (scripts/build.mjs).
 */
await runAndExit(agentCommand(new Command('steward-agent')).version(AGENT_VERSION).exitOverride());
