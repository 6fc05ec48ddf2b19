import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { pidAlive, readPidFile } from './pid-file.js';

/** What the probe saw; the monitor module's ProbeResult. */
export interface ProcessProbeResult {
  ok: boolean;
  message: string;
}

/** Linux keeps only the first 15 bytes of a process name in `comm`. */
const COMM_MAX = 15;

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * What the pid is to a daemon called `name`: the daemon itself, one of its helpers, or neither
 * (null when the pid is gone). nginx retitles its processes "nginx: master process …" and
 * "nginx: worker process" (cache manager, cache loader…): only the master is the daemon, so a
 * worker left behind by a master that died does not pass for a running nginx.
 */
async function pidRole(pid: number, name: string): Promise<'daemon' | 'helper' | false | null> {
  const cmdline = await readText(`/proc/${pid}/cmdline`);
  if (cmdline === null) return null;
  const argv0 = cmdline.split('\0')[0] ?? '';
  if (argv0.startsWith(`${name}: `)) return argv0.startsWith(`${name}: master process`) ? 'daemon' : 'helper';
  const comm = await readText(`/proc/${pid}/comm`);
  if (comm === null) return null;
  if (comm.trim() === name.slice(0, COMM_MAX)) return 'daemon';
  return basename(argv0.split(/\s/)[0] ?? '') === name || basename(argv0) === name ? 'daemon' : false;
}

/** True when the pid's `comm` or `argv[0]` basename is `name` (a helper counts); null when the pid is gone. */
async function pidHasName(pid: number, name: string): Promise<boolean | null> {
  const role = await pidRole(pid, name);
  return role === null ? null : role !== false;
}

/** Pids of the daemon called `name`, and of its helpers (which alone do not count). */
async function findByName(name: string): Promise<{ daemons: number[]; helpers: number[] }> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const pids = entries.filter((e) => /^\d+$/.test(e)).map(Number);
  const roles = await Promise.all(pids.map(async (pid) => [pid, await pidRole(pid, name)] as const));
  return {
    daemons: roles.filter(([, r]) => r === 'daemon').map(([pid]) => pid),
    helpers: roles.filter(([, r]) => r === 'helper').map(([pid]) => pid),
  };
}

const some = (pids: number[]) => `${pids.slice(0, 5).join(', ')}${pids.length > 5 ? ', …' : ''}`;

/**
 * A process alive: by pid file (the pid exists and, when a name is also given, has that name,
 * so a reused pid does not count) or by name (any process with that name, not counting helpers
 * such as nginx workers, which outlive a master killed hard).
 */
export async function probeProcess(spec: { name?: string; pidFile?: string }): Promise<ProcessProbeResult> {
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
  const { daemons, helpers } = await findByName(spec.name);
  if (daemons.length > 0) return { ok: true, message: `${spec.name} running (pid ${some(daemons)})` };
  if (helpers.length > 0) return { ok: false, message: `no ${spec.name} master; only helpers it left behind (pid ${some(helpers)})` };
  return { ok: false, message: `no process named ${spec.name}` };
}
