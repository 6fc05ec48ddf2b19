import { createContext, useContext } from 'react';
import type { Api } from './api/client.js';
import type { EventStream } from './api/events.js';

export interface Session {
  api: Api;
  events: EventStream;
  signOut(reason?: string): void;
}

export const SessionContext = createContext<Session | null>(null);

/** The signed-in session: the typed API and the page's one event stream. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}
