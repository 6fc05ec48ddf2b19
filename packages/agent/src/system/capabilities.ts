import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import os from 'node:os';
import { delimiter, join } from 'node:path';

/** Programs whose presence lets the scheduler place tasks that need them. */
export const DETECTED_PROGRAMS = ['python3', 'node', 'bash', 'sh', 'gcc', 'perl', 'ruby'];

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  arch?: string;
}

/** Finds an executable regular file named `name` in one of the PATH directories. */
export async function onPath(name: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): Promise<boolean> {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  const names = platform === 'win32' ? [name, `${name}.exe`, `${name}.cmd`] : [name];
  for (const dir of dirs) {
    for (const n of names) {
      const file = join(dir, n);
      try {
        if (!(await stat(file)).isFile()) continue;
        await access(file, constants.X_OK);
        return true;
      } catch {
        // not here; try the next directory
      }
    }
  }
  return false;
}

export async function detectCapabilities(opts: DetectOptions = {}): Promise<string[]> {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const found = new Set([`arch:${opts.arch ?? os.arch()}`, `os:${platform}`]);
  const programs = await Promise.all(DETECTED_PROGRAMS.map(async (p) => ((await onPath(p, env, platform)) ? p : null)));
  for (const p of programs) if (p) found.add(p);
  if (await onPath('nvidia-smi', env, platform)) found.add('gpu:nvidia');
  if (env.PREFIX?.includes('com.termux')) found.add('termux');
  return [...found].sort();
}
