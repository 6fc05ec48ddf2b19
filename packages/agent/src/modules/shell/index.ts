import { ShellSessionPayload } from '@steward/protocol/modules';
import { defineCommand, defineModule, HandlerFailure, type ModuleInstance } from '../types.js';
import { runSession } from './session.js';
import { ShellSettings } from './settings.js';

/** The started module: its validated settings. */
class ShellModule implements ModuleInstance {
  constructor(readonly settings: ShellSettings) {}
  async stop(): Promise<void> {}
}

const session = defineCommand({
  type: 'shell.session',
  description: 'Opens an interactive terminal (a PTY) running the login shell or a given program; output streams, input comes from the operator.',
  payload: ShellSessionPayload,
  // Typed input cannot be replayed: a session cut by an agent restart ends failed.
  safeToRerun: false,
  handler: (payload, ctx) => {
    if (!(ctx.module instanceof ShellModule)) throw new HandlerFailure('module_not_started', 'the shell module is not running on this agent');
    return runSession(payload, ctx, ctx.module.settings);
  },
});

export default defineModule({
  name: 'shell',
  description: 'Interactive terminals (steward shell, the dashboard terminal).',
  commands: [session],
  settings: ShellSettings,
  start: async (rt) => new ShellModule(rt.settings as ShellSettings),
});
