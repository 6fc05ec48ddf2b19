/**
 * The modules an agent runs unless told otherwise. Its own file (and package export) so the
 * CLI's `steward agent --help` shows the real list without loading the whole agent.
 */
export const DEFAULT_MODULES: readonly string[] = ['sys', 'agent', 'exec', 'fs', 'stats', 'backup', 'monitor', 'task', 'service', 'shell'];
