import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import type { UpgradeFiles } from './state.js';

/**
 * The watcher: a small detached process, run by the OLD version's Node runtime, that outlives the
 * agent's restart. It only uses Node built-ins, so nothing of the new version can break it. Until
 * `decision.json` exists it watches `current`'s new version; if the new agent is not welcomed by the
 * deadline, or keeps exiting at start, it claims `rolled_back` with the reason, points `current` back
 * at the old version and stops the new agent (the service manager then starts the old one, which
 * reports the outcome). Each step is logged to `upgrade/watcher.log`.
 */
export const WATCHER_SOURCE = String.raw`
import { linkSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [stateFile, decisionFile] = process.argv.slice(2);
const s = JSON.parse(readFileSync(stateFile, 'utf8'));
const log = (m) => console.log(new Date().toISOString() + ' upgrade ' + s.from + ' -> ' + s.to + ': ' + m);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const decided = () => { try { return JSON.parse(readFileSync(decisionFile, 'utf8')); } catch { return null; } };
const claim = (d) => {
  const tmp = decisionFile + '.' + process.pid + '.tmp';
  writeFileSync(tmp, JSON.stringify(d));
  try { linkSync(tmp, decisionFile); return true; } catch (e) { if (e.code === 'EEXIST') return false; throw e; } finally { rmSync(tmp, { force: true }); }
};
const newDir = join(s.root, s.to) + '/';
// The new version's agent processes (the wrapper execs Node with <root>/<version>/bin/../steward-agent.mjs).
const pidsOfNew = () => {
  const out = [];
  for (const p of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(p) || Number(p) === process.pid) continue;
    try { if (readFileSync('/proc/' + p + '/cmdline', 'utf8').split('\0').some((a) => a.startsWith(newDir) && a.endsWith('/steward-agent.mjs'))) out.push(Number(p)); } catch {}
  }
  return out;
};
// Starts of the new agent seen: a supervisor restarts a crashing agent every 2 s.
const CRASH_STARTS = 3;
const seen = new Set();
log('watching; deadline in ' + Math.round((s.deadline - Date.now()) / 1000) + ' s');
for (;;) {
  const d = decided();
  if (d) { log('decided by the ' + d.by + ': ' + d.outcome + (d.reason ? ' (' + d.reason + ')' : '')); process.exit(0); }
  const alive = pidsOfNew();
  for (const p of alive) seen.add(p);
  let reason = null;
  if (seen.size >= CRASH_STARTS) {
    reason = 'the new agent ' + s.to + ' keeps exiting at start (started ' + seen.size + ' times in ' + Math.round((Date.now() - s.startedAt) / 1000) + ' s)';
  } else if (Date.now() > s.deadline) {
    reason = 'the new agent ' + s.to + ' was not welcomed by the control plane within ' + Math.round(s.graceMs / 1000) + ' s' +
      (seen.size === 0 ? ' (it was never seen running)' : seen.size > 1 ? ' (it was started ' + seen.size + ' times)' : '');
  }
  if (reason) {
    if (!claim({ outcome: 'rolled_back', reason, by: 'watcher', at: Date.now() })) continue;
    const tmp = join(s.root, 'current.rollback-' + process.pid);
    rmSync(tmp, { force: true });
    symlinkSync(s.from, tmp);
    renameSync(tmp, join(s.root, 'current'));
    log('rolled back: current -> ' + s.from + ': ' + reason);
    for (const p of pidsOfNew()) { try { process.kill(p, 'SIGTERM'); } catch {} }
    for (let i = 0; i < 150 && pidsOfNew().length; i++) await sleep(100);
    for (const p of pidsOfNew()) { try { process.kill(p, 'SIGKILL'); } catch {} }
    log('stopped the new agent; the service manager starts ' + s.from + ' again');
    process.exit(0);
  }
  await sleep(100);
}
`;

/** Starts the watcher, detached from the agent (it must outlive it), with the old version's Node. */
export function startWatcher(f: UpgradeFiles, nodeBinary = process.execPath): number | undefined {
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  writeFileSync(f.watcher, WATCHER_SOURCE);
  const out = openSync(f.log, 'a');
  try {
    const child = spawn(nodeBinary, [f.watcher, f.state, f.decision], { detached: true, stdio: ['ignore', out, out] });
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}
