import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AgentError } from '../../core/errors.js';

/**
 * Where an installed agent lives (scripts/install.sh): `<root>/<version>/` per unpacked package and
 * `<root>/current` a symlink to the one in use. The running agent is `<root>/<version>/steward-agent.mjs`.
 */
export interface InstallLayout {
  root: string;
  /** The version folder this process runs from (its name is the version). */
  running: string;
  current: string;
}

export class UpgradeError extends AgentError<
  'upgrade_unsupported' | 'upgrade_in_progress' | 'package_invalid' | 'rolled_back' | 'upgrade_interrupted'
> {}

/**
 * The layout this agent runs from, or `upgrade_unsupported` when it is not an installed package
 * (an agent run from the repository, `steward up`, a test): there is no `current` to switch.
 */
export function installLayout(version: string, script = process.argv[1] ?? ''): InstallLayout {
  const unsupported = (why: string) =>
    new UpgradeError('upgrade_unsupported', `this agent cannot upgrade itself: ${why}; upgrades need an agent installed with install.sh (docs/upgrades.md)`);
  if (!script) throw unsupported('its entry script is unknown');
  let running: string;
  try {
    running = realpathSync(dirname(script));
  } catch {
    throw unsupported(`its entry script ${script} cannot be resolved`);
  }
  const root = dirname(running);
  const current = join(root, 'current');
  if (basename(running) !== version || !existsSync(join(running, 'manifest.json'))) {
    throw unsupported(`it does not run from an unpacked package folder named for its version (${running})`);
  }
  try {
    if (!lstatSync(current).isSymbolicLink()) throw new Error('not a symlink');
  } catch {
    throw unsupported(`${current} is not a symlink`);
  }
  return { root, running, current };
}

/** The version folder `current` points at (its link text, a bare version as install.sh writes it). */
export function currentTarget(layout: Pick<InstallLayout, 'current'>): string {
  return readlinkSync(layout.current);
}
