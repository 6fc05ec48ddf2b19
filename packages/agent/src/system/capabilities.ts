import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import os from 'node:os';
import { delimiter, join } from 'node:path';

/** Programs whose presence lets the scheduler place tasks that need them (`--cap python3`). */
export const DETECTED_PROGRAMS = [
  'python3',
  'python',
  'node',
  'bash',
  'sh',
  'gcc',
  'g++',
  'cc',
  'clang',
  'make',
  'perl',
  'ruby',
  'go',
  'rustc',
  'java',
  'ffmpeg',
];

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  arch?: string;
}

/** Finds an executable regular file named `name` in one of the PATH directories; returns its path. */
export async function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): Promise<string | null> {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  const names = platform === 'win32' ? [name, `${name}.exe`, `${name}.cmd`] : [name];
  for (const dir of dirs) {
    for (const n of names) {
      const file = join(dir, n);
      try {
        if (!(await stat(file)).isFile()) continue;
        await access(file, constants.X_OK);
        return file;
      } catch {
        // not here; try the next directory
      }
    }
  }
  return null;
}

export async function onPath(name: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): Promise<boolean> {
  return (await findOnPath(name, env, platform)) !== null;
}

/** How many GPUs `nvidia-smi -L` lists (0 when it fails: installed without a working driver). */
export function countNvidiaGpus(binary: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    execFile(binary, ['-L'], { timeout: 3000, env }, (err, stdout) => {
      if (err) return resolve(0);
      resolve(String(stdout).split('\n').filter((l) => /^GPU \d+:/.test(l.trim())).length);
    });
  });
}

/**
 * What the node offers for task placement: `arch:<arch>`, `os:<platform>`, the programs of
 * DETECTED_PROGRAMS found on PATH, `gpu` + `gpu:nvidia` + `gpus:<n>` when nvidia-smi lists
 * GPUs, and `termux` + `android` on a phone running Termux. Configured ones are added by the caller.
 */
export async function detectCapabilities(opts: DetectOptions = {}): Promise<string[]> {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const found = new Set([`arch:${opts.arch ?? os.arch()}`, `os:${platform}`]);
  const programs = await Promise.all(DETECTED_PROGRAMS.map(async (p) => ((await onPath(p, env, platform)) ? p : null)));
  for (const p of programs) if (p) found.add(p);
  const smi = await findOnPath('nvidia-smi', env, platform);
  if (smi) {
    const gpus = await countNvidiaGpus(smi, env);
    if (gpus > 0) {
      found.add('gpu');
      found.add('gpu:nvidia');
      found.add(`gpus:${gpus}`);
    }
  }
  if (env.PREFIX?.includes('com.termux') || env.TERMUX_VERSION) found.add('termux');
  if (platform === 'android' || found.has('termux')) found.add('android');
  return [...found].sort();
}
