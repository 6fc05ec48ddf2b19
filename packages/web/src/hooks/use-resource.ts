import { useCallback, useEffect, useRef, useState } from 'react';
import type { StewardEvent } from '../api/types.js';
import { useEvents, useResync } from './use-events.js';

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  /** True until the first answer (later reloads keep showing the previous data). */
  loading: boolean;
  reload(): void;
  /** Changes the data in place (e.g. from an event) without a request. */
  mutate(fn: (d: T) => T): void;
}

export interface ResourceOptions {
  /** Reload when an event matches (throttled). */
  refreshOn?: (e: StewardEvent) => boolean;
  throttleMs?: number;
  /** Also reload on this interval while the page is visible (figures that have no events). */
  pollMs?: number;
}

/**
 * Loads data for a view and keeps it current: on matching live events, after the event stream
 * reconnects, and optionally on an interval. `key` identifies what is loaded; a new key starts over.
 */
export function useResource<T>(key: string, load: () => Promise<T>, opts: ResourceOptions = {}): Resource<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: Error }>({ key });
  const loadRef = useRef(load);
  loadRef.current = load;
  const seq = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const lastRun = useRef(0);

  const run = useCallback(() => {
    const mine = ++seq.current;
    lastRun.current = Date.now();
    loadRef.current().then(
      (data) => mine === seq.current && setState({ key, data }),
      (error: Error) => mine === seq.current && setState((s) => ({ key, data: s.key === key ? s.data : undefined, error })),
    );
  }, [key]);

  const schedule = useCallback(() => {
    if (timer.current) return;
    const wait = Math.max(0, (opts.throttleMs ?? 500) - (Date.now() - lastRun.current));
    timer.current = setTimeout(() => {
      timer.current = undefined;
      run();
    }, wait);
  }, [run, opts.throttleMs]);

  useEffect(() => {
    setState((s) => (s.key === key ? s : { key }));
    run();
    return () => {
      seq.current++;
      clearTimeout(timer.current);
      timer.current = undefined;
    };
  }, [key, run]);

  useEffect(() => {
    if (!opts.pollMs) return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, opts.pollMs);
    return () => clearInterval(t);
  }, [opts.pollMs, run]);

  useEvents((e) => {
    if (opts.refreshOn?.(e)) schedule();
  });
  useResync(schedule);

  const current = state.key === key ? state : { key };
  return {
    data: current.data,
    error: current.error,
    loading: current.data === undefined && current.error === undefined,
    reload: run,
    mutate: (fn) => setState((s) => (s.key === key && s.data !== undefined ? { ...s, data: fn(s.data) } : s)),
  };
}
