import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { compile, Type } from '@steward/protocol';
import { writeFileAtomic } from '@steward/protocol/node';

/** The last pushed server list a control plane of that list confirmed by welcoming the agent. */
export const SERVERS_FILE = 'servers.json';

const StoredServers = Type.Object({
  servers: Type.Array(Type.String({ pattern: '^https?://[^\\s]+$' }), { minItems: 1, maxItems: 16 }),
  savedAt: Type.Integer(),
});
const storedServers = compile(StoredServers);

/**
 * A pushed list that failed is not tried again before this long has passed (unless another list
 * is pushed): every reconnect to the old list would otherwise start the same failing trial.
 */
export const FAILED_PROPOSAL_COOLDOWN_MS = 10 * 60_000;

/** What became of a proposed list (also told to `onOutcome` listeners). */
export type ProposalOutcome =
  | { state: 'committed'; servers: string[]; via: string }
  | { state: 'reverted'; servers: string[]; tried: string[]; reason: string }
  /** The local list is pinned (`--server`, or `keepLocal: [servers]`): the pushed one is not used. */
  | { state: 'ignored'; servers: string[]; reason: string }
  /** A URL of it fails the agent's URL policy (plain http or an unpinned https to another host). */
  | { state: 'refused'; servers: string[]; reason: string };

export interface ServerListOptions {
  dataDir: string;
  /** The list from flags, YAML file or environment (`servers`, or `server` as a one-item list). */
  local: readonly string[];
  /** The local list wins over a pushed one (it came from `--server`, or the file keeps `servers` local); the stored list is not read. */
  pinned: boolean;
  log: Logger;
  now?: () => number;
}

/** Trailing slashes off, duplicates dropped: two spellings of one server are one entry. */
export function normalizeServers(urls: readonly string[]): string[] {
  return [...new Set(urls.map((u) => u.trim().replace(/\/+$/, '')).filter(Boolean))];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((u, i) => u === b[i]);
}

interface Trial {
  urls: string[];
  index: number;
  failures: number;
}

/**
 * The control planes this agent may talk to, in the order it tries them, and which one it is on.
 * Dialling walks the list (`failed()` moves on, wrapping around); a pushed list (`propose`) is
 * tried on the side and replaces the list in force (and `servers.json`) only once one of its
 * servers welcomed the agent, so a list of unreachable or wrong URLs cannot strand it: after one
 * failed round through the new list the agent goes back to the server it was on.
 */
export class ServerList {
  private list: string[];
  private readonly local: string[];
  private index = 0;
  private trial: Trial | null = null;
  /** The URL whose control plane welcomed us on the open connection; null while not connected. */
  private on: string | null = null;
  private lastFailed: { key: string; at: number } | null = null;
  private readonly changeListeners = new Set<() => void>();
  private readonly outcomeListeners = new Set<(o: ProposalOutcome) => void>();
  private readonly now: () => number;
  private policy: (url: string) => void = () => {};

  constructor(private readonly o: ServerListOptions) {
    this.now = o.now ?? Date.now;
    const local = normalizeServers(o.local);
    if (local.length === 0) throw new Error('ServerList needs at least one server URL');
    this.local = local;
    const stored = o.pinned ? null : this.readStored();
    this.list = stored ?? local;
    if (stored && !sameList(stored, local)) o.log.info({ servers: stored }, `using the server list pushed earlier (${SERVERS_FILE}); the local one is replaced by it`);
  }

  /** The URL to dial now: the trial list's while a pushed list is being tried. */
  get current(): string {
    return this.trial ? this.trial.urls[this.trial.index]! : this.list[this.index]!;
  }

  /** The list in force (the last confirmed one). */
  get servers(): readonly string[] {
    return this.list;
  }

  /** The pushed list being tried, or null. */
  get trying(): readonly string[] | null {
    return this.trial?.urls ?? null;
  }

  /** The URL policy (link/tls.ts checkServerUrl with the agent's trust) a pushed URL must pass, as local ones did. */
  setPolicy(check: (url: string) => void): void {
    this.policy = check;
  }

  /** Told whenever `current` changes: the connection leaves a server the list no longer points at. */
  onChange(fn: () => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  /** Told when a proposal is committed, reverted, ignored or refused. */
  onOutcome(fn: (o: ProposalOutcome) => void): () => void {
    this.outcomeListeners.add(fn);
    return () => this.outcomeListeners.delete(fn);
  }

  /**
   * The control plane at `url` welcomed the agent: a list on trial becomes the list in force. A
   * welcome from a server the list has just been moved off (a proposal came in between) is not one.
   */
  welcomed(url: string = this.current): void {
    if (url !== this.current) return;
    this.on = url;
    if (!this.trial) return;
    const { urls, index } = this.trial;
    this.trial = null;
    this.commit(urls, index);
  }

  /**
   * The dial to `current` failed, or the connection to it was lost: the next URL (wrapping
   * around). A trial whose every URL failed once is given up: back to the list in force, at the
   * server the agent was on.
   */
  failed(): void {
    this.on = null;
    const t = this.trial;
    if (t) {
      t.failures += 1;
      if (t.failures >= t.urls.length) return this.revert(t);
      t.index = (t.index + 1) % t.urls.length;
    } else {
      this.index = (this.index + 1) % this.list.length;
    }
    this.changed();
  }

  /**
   * A pushed list. Already connected to one of its servers: it is in force at once. Otherwise the
   * agent leaves its server and tries the new list (listeners of `onChange` redial); it is kept
   * only when a server of it welcomes the agent. None (the pushed config has no `servers` any
   * more): the local list comes back the same way.
   */
  propose(urls?: readonly string[]): void {
    const given = normalizeServers(urls ?? []);
    const next = given.length ? given : this.local;
    if (this.o.pinned) {
      if (!sameList(next, this.list)) this.tell({ state: 'ignored', servers: next, reason: 'the local server list wins (--server given, or the config file keeps `servers` local)' });
      return;
    }
    for (const url of next) {
      try {
        this.policy(url);
      } catch (e) {
        this.o.log.warn({ servers: next, url }, `pushed server list ignored: ${(e as Error).message}`);
        this.tell({ state: 'refused', servers: next, reason: (e as Error).message });
        return;
      }
    }
    if (this.trial && sameList(next, this.trial.urls)) return;
    if (sameList(next, this.list)) {
      // Pushed back to the list in force while another was on trial: stop the trial.
      if (this.trial) {
        this.trial = null;
        this.on = null;
        this.changed();
      }
      return;
    }
    const key = next.join(' ');
    if (this.lastFailed?.key === key && this.now() - this.lastFailed.at < FAILED_PROPOSAL_COOLDOWN_MS) {
      this.o.log.debug({ servers: next }, 'this server list failed a moment ago; not tried again yet');
      return;
    }
    if (this.on && next.includes(this.on)) {
      this.trial = null;
      this.commit(next, next.indexOf(this.on));
      return;
    }
    this.trial = { urls: next, index: 0, failures: 0 };
    // The agent leaves its server now: until a welcome, it is on none.
    this.on = null;
    this.o.log.info({ servers: next }, 'trying the pushed server list');
    this.changed();
  }

  private commit(urls: string[], index: number): void {
    this.list = urls;
    this.index = index;
    this.lastFailed = null;
    try {
      writeFileAtomic(join(this.o.dataDir, SERVERS_FILE), JSON.stringify({ servers: urls, savedAt: this.now() }, null, 2) + '\n', 0o600);
    } catch (err) {
      this.o.log.error({ err }, `could not store the server list in ${SERVERS_FILE}; it is in force until the agent restarts`);
    }
    this.o.log.info({ servers: urls, via: urls[index] }, 'pushed server list confirmed and stored');
    this.tell({ state: 'committed', servers: urls, via: urls[index]! });
  }

  private revert(t: Trial): void {
    this.trial = null;
    this.lastFailed = { key: t.urls.join(' '), at: this.now() };
    const reason = `no server of the pushed list (${t.urls.join(', ')}) welcomed the agent after trying each once; back on ${this.current}`;
    this.o.log.warn({ tried: t.urls, servers: this.list }, reason);
    this.changed();
    this.tell({ state: 'reverted', servers: this.list, tried: t.urls, reason });
  }

  private readStored(): string[] | null {
    const path = join(this.o.dataDir, SERVERS_FILE);
    if (!existsSync(path)) return null;
    try {
      const parsed = storedServers.parse(JSON.parse(readFileSync(path, 'utf8')), SERVERS_FILE);
      return normalizeServers(parsed.servers);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message, path }, 'ignoring an unreadable stored server list; using the local one');
      return null;
    }
  }

  private changed(): void {
    for (const fn of this.changeListeners) fn();
  }

  private tell(o: ProposalOutcome): void {
    for (const fn of this.outcomeListeners) {
      try {
        fn(o);
      } catch (err) {
        this.o.log.warn({ err }, 'server list outcome listener failed');
      }
    }
  }
}
