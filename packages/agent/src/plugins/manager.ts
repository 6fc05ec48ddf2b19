import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { MODULE_NAME_PATTERN } from '../modules/folders.js';
import type { AgentModule } from '../modules/types.js';
import { PluginInvalidError } from './errors.js';
import { importPlugin, pruneSnapshots } from './loader.js';
import { readPlugin, type VerifiedPlugin } from './manifest.js';

/** What the agent does with a plugin module: the registry and module lifecycle live there. */
export interface PluginHost {
  /** Names a plugin may not take: the built-in module folders (and `plugins`, the manager's own). */
  reserved: ReadonlySet<string>;
  /** Registers the module's command types and starts it; throws (nothing changed) when it cannot. */
  add(mod: AgentModule): Promise<void>;
  /** Takes its command types away and stops it, after its running commands. */
  remove(name: string): Promise<void>;
  /** A `module.event` of the `plugins` module (best effort). */
  event(event: 'plugin.loaded' | 'plugin.unloaded' | 'plugin.invalid', data: Record<string, unknown>): void;
}

export interface PluginState {
  name: string;
  /** `loaded`: running; `incomplete`: being copied (checksums do not match yet); `invalid`: refused. */
  state: 'loaded' | 'incomplete' | 'invalid';
  /** The version running now (a refused or incomplete update leaves the previous one running). */
  version?: string;
  reason?: string;
}

export interface PluginManagerOptions {
  /** The plugins dir: one folder per plugin. */
  dir: string;
  /** Where verified copies are imported from (under the agent's data dir). */
  snapshots: string;
  host: PluginHost;
  log: Logger;
  /** A full rescan this often, in case a watch event was missed. */
  rescanMs?: number;
  /** Changes closer together than this are taken as one (a copy writes many times). */
  debounceMs?: number;
}

interface Loaded {
  version: string;
  fingerprint: string;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Keeps the loaded plugins in step with the plugins dir: loads a new folder once its checksums
 * match, reloads a changed one (new code, a remove then an add), unloads a removed one. Watches
 * the dir (and each plugin folder) and rescans periodically; scans never overlap.
 */
export class PluginManager {
  private readonly loaded = new Map<string, Loaded>();
  /** Per folder, what was last seen that is not loaded: why, and which fingerprint (to not retry the same bytes). */
  private readonly notLoaded = new Map<string, { state: 'incomplete' | 'invalid'; reason: string; fingerprint?: string }>();
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly o: PluginManagerOptions) {}

  get dir(): string {
    return this.o.dir;
  }

  /** Loads what is there now, then follows changes. */
  async start(): Promise<void> {
    // A plugins dir that cannot be made does not stop the agent: the rescan picks it up once it exists.
    await mkdir(this.o.dir, { recursive: true, mode: 0o700 }).catch((err) => this.o.log.warn({ err, dir: this.o.dir }, 'plugins: cannot create the plugins dir'));
    await this.scan();
    this.timer = setInterval(() => void this.scan(), this.o.rescanMs ?? 10_000);
    this.timer.unref();
  }

  /** Plugin states for the module report: loaded ones and folders that are not (yet). */
  report(): { plugins: PluginState[] } {
    const names = [...new Set([...this.loaded.keys(), ...this.notLoaded.keys()])].sort();
    return {
      plugins: names.map((name) => {
        const l = this.loaded.get(name);
        const n = this.notLoaded.get(name);
        return { name, state: n?.state ?? 'loaded', ...(l ? { version: l.version } : {}), ...(n ? { reason: n.reason } : {}) };
      }),
    };
  }

  /** The names of the plugins running now. */
  names(): string[] {
    return [...this.loaded.keys()].sort();
  }

  /** Scans the dir now; resolves once the plugins match it. A scan asked for during one runs right after. */
  scan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.again = false;
        await this.scanOnce().catch((err) => this.o.log.warn({ err }, 'plugins: scan failed'));
      } while (this.again && !this.stopped);
    })().finally(() => (this.scanning = null));
    return this.scanning;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.scanning;
  }

  private changed(): void {
    if (this.stopped) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.scan(), this.o.debounceMs ?? 200);
  }

  private watchDir(key: string, path: string): void {
    if (this.watchers.has(key) || this.stopped) return;
    try {
      const w = watch(path, () => this.changed());
      // A watched folder that goes away reports an error; the next scan sees what is left.
      w.on('error', () => {
        w.close();
        this.watchers.delete(key);
        this.changed();
      });
      this.watchers.set(key, w);
    } catch (err) {
      this.o.log.debug({ err, path }, 'plugins: cannot watch; the periodic rescan covers it');
    }
  }

  private async folders(): Promise<string[]> {
    const entries = await readdir(this.o.dir, { withFileTypes: true }).catch(() => []);
    // Dot folders are the installer's staging area; other names cannot be module names.
    return entries.filter((e) => e.isDirectory() && MODULE_NAME_PATTERN.test(e.name)).map((e) => e.name).sort();
  }

  private async scanOnce(): Promise<void> {
    if (this.stopped) return;
    this.watchDir('', this.o.dir);
    const present = await this.folders();
    for (const name of [...this.loaded.keys()]) if (!present.includes(name)) await this.unload(name);
    for (const name of [...this.notLoaded.keys()]) if (!present.includes(name)) this.notLoaded.delete(name);
    for (const [key, w] of this.watchers) {
      if (key !== '' && !present.includes(key)) {
        w.close();
        this.watchers.delete(key);
      }
    }
    for (const name of present) {
      if (this.stopped) return;
      this.watchDir(name, join(this.o.dir, name));
      await this.sync(name);
    }
  }

  private async sync(name: string): Promise<void> {
    let verified: VerifiedPlugin;
    try {
      if (this.o.host.reserved.has(name)) throw new PluginInvalidError(name, 'a built-in module has that name');
      const read = await readPlugin(join(this.o.dir, name), name);
      if ('incomplete' in read) {
        if (this.notLoaded.get(name)?.reason !== read.incomplete) this.o.log.info({ plugin: name }, `plugin ${name} is not complete yet: ${read.incomplete}`);
        this.notLoaded.set(name, { state: 'incomplete', reason: read.incomplete });
        return;
      }
      verified = read;
    } catch (e) {
      return this.refuse(name, e);
    }
    const current = this.loaded.get(name);
    if (current?.fingerprint === verified.fingerprint) return void this.notLoaded.delete(name);
    if (this.notLoaded.get(name)?.fingerprint === verified.fingerprint) return; // refused already: same bytes, same answer
    let mod: AgentModule;
    try {
      mod = await importPlugin(verified, this.o.snapshots);
    } catch (e) {
      return this.refuse(name, e, verified.fingerprint);
    }
    // The new code imported cleanly: only now does the old version go.
    if (current) await this.unload(name);
    try {
      await this.o.host.add(mod);
    } catch (e) {
      return this.refuse(name, e, verified.fingerprint);
    }
    const version = verified.manifest.version;
    this.loaded.set(name, { version, fingerprint: verified.fingerprint });
    this.notLoaded.delete(name);
    await pruneSnapshots(this.o.snapshots, name, verified.fingerprint);
    const types = mod.commands.map((c) => c.type);
    this.o.log.info({ plugin: name, version, types }, `plugin ${name} ${version} loaded`);
    this.o.host.event('plugin.loaded', { name, version, types });
  }

  private async unload(name: string): Promise<void> {
    const was = this.loaded.get(name);
    this.loaded.delete(name);
    try {
      await this.o.host.remove(name);
    } catch (err) {
      this.o.log.warn({ err, plugin: name }, `plugin ${name} did not unload cleanly`);
    }
    await pruneSnapshots(this.o.snapshots, name);
    this.o.log.info({ plugin: name, version: was?.version }, `plugin ${name} unloaded`);
    this.o.host.event('plugin.unloaded', { name, ...(was ? { version: was.version } : {}) });
  }

  private refuse(name: string, e: unknown, fingerprint?: string): void {
    const err = e instanceof PluginInvalidError ? e : new PluginInvalidError(name, errorMessage(e));
    const before = this.notLoaded.get(name);
    this.notLoaded.set(name, { state: 'invalid', reason: err.message, ...(fingerprint ? { fingerprint } : {}) });
    if (before?.state === 'invalid' && before.reason === err.message) return; // told once per reason, not at every rescan
    this.o.log.warn({ plugin: name, code: err.code }, err.message);
    this.o.host.event('plugin.invalid', { name, code: err.code, message: err.message });
  }
}
