import type { EventBus } from '../core/bus.js';

/** What publishing an event needs: the bus and the clock (a Context has both). */
export interface Publisher {
  bus: EventBus;
  now: () => number;
}
