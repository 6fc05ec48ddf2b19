import type { HttpTransport } from '../transport.js';

/** A group of routes; StewardClient gathers every group's methods over its one transport. */
export abstract class Resource {
  constructor(protected readonly http: HttpTransport) {}
}

export interface List<T> {
  items: T[];
}

export interface WaitOptions {
  /** Seconds the server may hold the request until the command/job ends (0–300). */
  wait?: number;
  signal?: AbortSignal;
}
