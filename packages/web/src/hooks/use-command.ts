import { useSession } from '../app-context.js';
import type { Command } from '../api/types.js';
import { useResource } from './use-resource.js';

/** One command, kept current from its `command.state` events. */
export function useCommand(id: string) {
  const { api } = useSession();
  return useResource<Command>(`command:${id}`, () => api.command(id), {
    refreshOn: (e) => e.kind === 'command.state' && e.commandId === id,
    throttleMs: 100,
  });
}
