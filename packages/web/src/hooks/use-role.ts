import { useSession } from '../app-context.js';
import { useResource } from './use-resource.js';

/** The signed-in token's role; undefined until known. Readers are offered no actions that would be refused. */
export function useRole(): 'admin' | 'operator' | 'reader' | undefined {
  const { api } = useSession();
  return useResource('token:self', api.self).data?.role;
}
