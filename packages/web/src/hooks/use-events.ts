import { useEffect, useRef, useState } from 'react';
import { useSession } from '../app-context.js';
import type { StreamState } from '../api/events.js';
import type { StewardEvent } from '../api/types.js';

/** Calls `handler` for every live event (the latest handler; no resubscribe per render). */
export function useEvents(handler: (e: StewardEvent) => void): void {
  const { events } = useSession();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => events.subscribe((e) => ref.current(e)), [events]);
}

/** Calls `handler` after the stream reconnected (events may have been missed). */
export function useResync(handler: () => void): void {
  const { events } = useSession();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => events.onResync(() => ref.current()), [events]);
}

export function useStreamState(): StreamState {
  const { events } = useSession();
  const [state, setState] = useState(events.state);
  useEffect(() => {
    setState(events.state);
    return events.onState(setState);
  }, [events]);
  return state;
}
