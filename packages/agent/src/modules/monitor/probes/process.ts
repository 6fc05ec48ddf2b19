import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { pidAlive, readPidFile } from '../../../lib/pid-file.js';
import type { ProbeResult } from './probe.js';

/** Linux keeps only the first 15 bytes of a process name in `comm`. */
const COMM_MAX = 15;

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** True when the pid's `comm` or `argv[0]` basename is `name`; null when the pid is gone. */
async function pidHasName(pid: number, name: string): Promise<boolean | null> {
  const comm = await readText(`/proc/${pid}/comm`);
  if (comm === null) return null;
  if (comm.trim() === name.slice(0, COMM_MAX)) return true;
  const cmdline = await readText(`/proc/${pid}/cmdline`);
  if (cmdline === null) return null;
  const argv0 = cmdline.split('\0')[0] ?? '';
  // nginx rewrites argv to "nginx: master process …".
  const first = argv0.split(/[\s:]/)[0] ?? '';
  return basename(first) === name || basename(argv0) === name;
}

async function findByName(name: string): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const pids = entries.filter((e) => /^\d+$/.test(e)).map(Number);
  const hits = await Promise.all(pids.map(async (pid) => ((await pidHasName(pid, name)) ? pid : null)));
  return hits.filter((p): p is number => p !== null);
}

/**
 * A process alive: by pid file (the pid exists and, when a name is also given, has that name,
 * so a reused pid does not count) or by name (any process with that name).
 */
export async function probeProcess(spec: { name?: string; pidFile?: string }): Promise<ProbeResult> {
  if (spec.pidFile) {
    const read = await readPidFile(spec.pidFile);
    if ('missing' in read) return { ok: false, message: `pid file ${spec.pidFile} is missing` };
    if ('invalid' in read) return { ok: false, message: `pid file ${spec.pidFile} holds no pid` };
    const { pid } = read;
    if (!pidAlive(pid)) return { ok: false, message: `pid ${pid} from ${spec.pidFile} is not running` };
    if (spec.name && (await pidHasName(pid, spec.name)) === false) {
      return { ok: false, message: `pid ${pid} from ${spec.pidFile} is not ${spec.name}` };
    }
    return { ok: true, message: `pid ${pid} is running` };
  }
  if (!spec.name) return { ok: false, message: 'neither name nor pidFile given' };
  const pids = await findByName(spec.name);
  if (pids.length === 0) return { ok: false, message: `no process named ${spec.name}` };
  return { ok: true, message: `${spec.name} running (pid ${pids.slice(0, 5).join(', ')}${pids.length > 5 ? ', …' : ''})` };
}
