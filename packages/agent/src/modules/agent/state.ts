import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * An upgrade in progress, written before `current` is switched: what the watcher and the next agent
 * process need to finish it. Kept after it ended (the next upgrade replaces it), so an agent that
 * restarts after reporting still finds what it reported.
 */
export interface UpgradeState {
  commandId: string;
  root: string;
  /** The link text `current` had before the switch (the version folder to go back to). */
  from: string;
  to: string;
  graceMs: number;
  /** Until when the new agent has to be welcomed (epoch ms). */
  deadline: number;
  startedAt: number;
}

/** Who decided how the upgrade ended: first writer wins (a hard link cannot replace a file). */
export interface UpgradeDecision {
  outcome: 'upgraded' | 'rolled_back' | 'interrupted';
  reason?: string;
  by: 'agent' | 'watcher';
  at: number;
}

export interface UpgradeFiles {
  dir: string;
  state: string;
  decision: string;
  watcher: string;
  log: string;
}

export function upgradeFiles(dataDir: string): UpgradeFiles {
  const dir = join(dataDir, 'upgrade');
  return { dir, state: join(dir, 'state.json'), decision: join(dir, 'decision.json'), watcher: join(dir, 'watcher.mjs'), log: join(dir, 'watcher.log') };
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

export const readState = (f: UpgradeFiles) => readJson<UpgradeState>(f.state);
export const readDecision = (f: UpgradeFiles) => readJson<UpgradeDecision>(f.decision);

/** Written whole (temp file + rename): a reader never sees half a state. */
export function writeState(f: UpgradeFiles, s: UpgradeState): void {
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  const tmp = `${f.state}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s));
  renameSync(tmp, f.state);
}

/** A new upgrade starts clean. */
export function clearUpgrade(f: UpgradeFiles): void {
  rmSync(f.decision, { force: true });
  rmSync(f.state, { force: true });
}

/**
 * Records the outcome unless one is recorded already; returns the one that stands. The watcher
 * claims the same file the same way, so the agent and the watcher never both act.
 */
export function claimDecision(f: UpgradeFiles, d: UpgradeDecision): UpgradeDecision {
  const tmp = `${f.decision}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(d));
  try {
    linkSync(tmp, f.decision);
    return d;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return readDecision(f) ?? d;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Points `<root>/current` at `target` in one rename: it is never missing or half-written. */
export function switchCurrent(root: string, target: string): void {
  const tmp = join(root, `current.new-${process.pid}`);
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, join(root, 'current'));
}
