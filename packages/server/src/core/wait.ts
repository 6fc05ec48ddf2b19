import type { StewardEvent } from '@steward/protocol';
import type { EventBus } from './bus.js';

/**
 * Loads a thing and, unless it is already done, holds until an event says it may be (or
 * `waitMs` passes), then loads it again. Subscribes before the first load, so an event that
 * lands in between is not missed.
 */
export async function loadWhenDone<T>(
  bus: EventBus,
  signals: (e: StewardEvent) => boolean,
  load: () => Promise<T>,
  done: (value: T) => boolean,
  waitMs: number,
): Promise<T> {
  if (waitMs <= 0) return load();
  let unsubscribe = () => {};
  const signalled = new Promise<void>((resolve) => {
    unsubscribe = bus.subscribe(({ event }) => {
      if (signals(event)) resolve();
    });
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const first = await load();
    if (done(first)) return first;
    await Promise.race([signalled, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    return await load();
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}
