import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentUpgradePayload, type AgentUpgradeResult } from '@steward/protocol/modules';
import type { Static } from '@sinclair/typebox';
import { AGENT_VERSION } from '../../core/version.js';
import { HandedOver, HandlerFailure, defineCommand, defineModule, type CommandContext } from '../types.js';
import { installLayout, UpgradeError } from './layout.js';
import { verifyUnpacked } from './package-check.js';
import { claimDecision, clearUpgrade, readDecision, readState, switchCurrent, upgradeFiles, writeState, type UpgradeDecision, type UpgradeState } from './state.js';
import { startWatcher } from './watcher.js';

type Payload = Static<typeof AgentUpgradePayload>;
type Result = Static<typeof AgentUpgradeResult>;

/** tar is loaded on first use (idle footprint). */
const loadTar = () => import('tar');

/** After the grace, the new agent gives the watcher this long before it rolls back by itself. */
const SELF_ROLLBACK_AFTER_MS = 5_000;

/** Asks the service manager for a restart: a graceful stop, after which it starts `current`. */
function restartSoon(): void {
  setTimeout(() => process.kill(process.pid, 'SIGTERM'), 50).unref();
}

/** Packages half unpacked by an agent that was killed meanwhile. */
async function removeLeftovers(root: string): Promise<void> {
  for (const name of readdirSync(root)) if (name.startsWith('.upgrade-')) await rm(join(root, name), { recursive: true, force: true });
}

async function upgrade(p: Payload, ctx: CommandContext): Promise<Result> {
  const layout = installLayout(AGENT_VERSION);
  if (p.version === AGENT_VERSION) return { outcome: 'upgraded', from: AGENT_VERSION, to: p.version, version: AGENT_VERSION };
  const files = upgradeFiles(ctx.config.dataDir);
  const prior = readState(files);
  if (prior && !readDecision(files) && Date.now() < prior.deadline + SELF_ROLLBACK_AFTER_MS) {
    throw new UpgradeError('upgrade_in_progress', `an upgrade to ${prior.to} (command ${prior.commandId}) is still being decided`);
  }
  await removeLeftovers(layout.root);
  const tag = randomBytes(6).toString('hex');
  const download = join(layout.root, `.upgrade-${tag}.tar.gz`);
  const staging = join(layout.root, `.upgrade-${tag}`);
  const dest = join(layout.root, p.version);
  try {
    ctx.progress({ phase: 'downloading', unit: 'bytes', done: 0, total: null });
    await ctx.link.downloadArtifact(p.sha256, download, { signal: ctx.signal, onBytes: (done) => ctx.progress({ phase: 'downloading', unit: 'bytes', done, total: null }) });
    ctx.progress({ phase: 'verifying', unit: 'items', done: 0, total: null });
    await mkdir(staging);
    try {
      await (await loadTar()).x({ file: download, cwd: staging, strict: true, preservePaths: false });
    } catch (e) {
      throw new UpgradeError('package_invalid', `the agent package cannot be unpacked: ${(e as Error).message}; nothing was switched`);
    }
    await verifyUnpacked(staging, p.version);
    // As install.sh marks it: a re-run of install.sh then sees the version in place.
    writeFileSync(join(staging, '.package-sha256'), `${p.sha256}\n`);
    ctx.signal.throwIfAborted();
    await rm(dest, { recursive: true, force: true });
    await rename(staging, dest);
  } finally {
    await rm(download, { force: true });
    await rm(staging, { recursive: true, force: true });
  }
  ctx.signal.throwIfAborted();
  // From here on the steps are quick and each is undone by the watcher or the next process.
  clearUpgrade(files);
  const now = Date.now();
  const state: UpgradeState = {
    commandId: ctx.commandId,
    root: layout.root,
    from: readlinkSync(layout.current),
    to: p.version,
    graceMs: p.graceMs,
    deadline: now + p.graceMs,
    startedAt: now,
  };
  writeState(files, state);
  const watcher = startWatcher(files);
  switchCurrent(layout.root, p.version);
  ctx.log.info({ from: state.from, to: p.version, watcher, graceMs: p.graceMs }, 'agent package verified and current switched; restarting into the new version');
  restartSoon();
  throw new HandedOver(`switched current to ${p.version}; the agent restarts`);
}

/** The outcome as the command reports it: a result, or a `rolled_back` / `upgrade_interrupted` failure carrying one. */
function report(s: UpgradeState, d: UpgradeDecision): Result {
  const result: Result = { outcome: d.outcome, from: s.from, to: s.to, version: AGENT_VERSION, ...(d.reason ? { reason: d.reason } : {}) };
  if (d.outcome === 'upgraded') return result;
  const code = d.outcome === 'rolled_back' ? 'rolled_back' : 'upgrade_interrupted';
  throw new HandlerFailure(code, d.reason ?? d.outcome, { result });
}

/**
 * The next agent process ends what `upgrade` started. The new version confirms once welcomed (and
 * rolls back by itself if even the watcher is gone past the deadline); the old version, started
 * again, reports what the watcher decided, or that the upgrade stopped before the switch.
 */
async function resume(p: Payload, ctx: CommandContext): Promise<Result> {
  const files = upgradeFiles(ctx.config.dataDir);
  const s = readState(files);
  if (!s || s.commandId !== ctx.commandId) {
    throw new HandlerFailure('upgrade_interrupted', `the agent stopped during the upgrade to ${p.version}, before it switched; it still runs ${AGENT_VERSION}`, {
      result: { outcome: 'interrupted', from: AGENT_VERSION, to: p.version, version: AGENT_VERSION },
    });
  }
  const decided = readDecision(files);
  if (decided) {
    if (decided.outcome === 'upgraded' && AGENT_VERSION !== s.to) {
      return report(s, { outcome: 'rolled_back', reason: `the agent runs ${AGENT_VERSION} again after ${s.to} was confirmed (current was switched back)`, by: 'agent', at: Date.now() });
    }
    return report(s, decided);
  }
  if (AGENT_VERSION !== s.to) {
    // The old version runs and nothing was decided: stopped before the new one ever started.
    const d = claimDecision(files, { outcome: 'interrupted', reason: `the agent stopped during the upgrade to ${s.to}; it runs ${AGENT_VERSION}`, by: 'agent', at: Date.now() });
    if (readlinkSync(join(s.root, 'current')) !== s.from && existsSync(join(s.root, s.from))) switchCurrent(s.root, s.from);
    return report(s, d);
  }
  // The new version: welcomed (the control plane took its hello) before the deadline means healthy.
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), Math.max(0, s.deadline + SELF_ROLLBACK_AFTER_MS - Date.now()))));
  const got = await Promise.race([ctx.welcomed().then(() => 'welcomed' as const), late]);
  clearTimeout(timer);
  if (got === 'welcomed') {
    const d = claimDecision(files, { outcome: 'upgraded', by: 'agent', at: Date.now() });
    if (d.outcome === 'upgraded') {
      ctx.log.info({ from: s.from, to: s.to }, 'upgrade confirmed');
      return report(s, d);
    }
    // The watcher decided first: it switches back and stops this process; the old version reports.
    throw new HandedOver(`the watcher rolled back: ${d.reason ?? ''}`);
  }
  // No welcome and no watcher: roll back alone.
  const d = claimDecision(files, { outcome: 'rolled_back', reason: `the new agent ${s.to} was not welcomed by the control plane within ${Math.round(s.graceMs / 1000)} s`, by: 'agent', at: Date.now() });
  if (d.outcome === 'upgraded') return report(s, d);
  switchCurrent(s.root, s.from);
  restartSoon();
  throw new HandedOver(`rolled back to ${s.from}`);
}

const upgradeCommand = defineCommand({
  type: 'agent.upgrade',
  description: 'Upgrades this agent to another packaged version, with automatic rollback if the new one is not welcomed within the grace (installed agents only).',
  payload: AgentUpgradePayload,
  // Never run twice from the start: an interrupted one is finished by `resume` in the next process.
  safeToRerun: false,
  handler: upgrade,
  resume,
});

export default defineModule({
  name: 'agent',
  description: 'The agent itself: upgrades with automatic rollback.',
  commands: [upgradeCommand],
});
