import { Option, type Command } from 'commander';
import { AGENT_UPGRADE_STATES, type AgentUpgradeDetail, type AgentUpgradeState } from '@steward/protocol';
import { collectList, durationOption, nodeTarget, positiveInt, selector } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { ago, countsText, table, timestamp } from '../format.js';
import { printJson, println } from '../output.js';

interface UpgradeOpts {
  version: string;
  all?: boolean;
  selector?: string;
  nodes?: string[];
  batchSize?: number;
  maxUnavailable?: number;
  canary?: number;
  failureThreshold?: number;
  grace?: number;
  watch?: boolean;
  json?: boolean;
}

const FINAL = new Set(['completed', 'aborted']);

function nonNegativeInt(value: string): number {
  return value.trim() === '0' ? 0 : positiveInt(value);
}

function printUpgrade(u: AgentUpgradeDetail): void {
  println(`id:        ${u.id}`);
  println(`version:   ${u.version}`);
  println(`target:    ${JSON.stringify(u.target)}`);
  println(`state:     ${u.state}${u.reason ? ` (${u.reason})` : ''}`);
  println(`nodes:     ${u.total}  (${countsText(u.counts)})`);
  println(`pace:      ${u.batchSize ? `batches of ${u.batchSize}` : `at most ${u.maxUnavailable} at once`}${u.canary ? `, canary ${u.canary} first` : ''}, pause after ${u.failureThreshold + 1} failure(s), grace ${u.graceMs / 1000} s`);
  println(`created:   ${timestamp(u.createdAt)}${u.createdBy ? ` by ${u.createdBy}` : ''}`);
  if (u.finishedAt) println(`finished:  ${timestamp(u.finishedAt)}`);
  println('');
  println(table(['BATCH', 'NODES', 'PROGRESS'], u.batches.map((b) => [`${b.batch}${b.canary ? ' (canary)' : ''}`, String(b.total), countsText(b.counts)])));
  println('');
  println(table(['NODE', 'BATCH', 'STATE', 'FROM', 'REASON'], u.nodes.map((n) => [n.name, String(n.batch), n.state, n.fromVersion ?? '-', n.reason ?? ''])));
}

/** `steward agents`: fleet-wide agent upgrades with automatic rollback (docs/upgrades.md). */
export function registerAgents(program: Command): void {
  const agents = program.command('agents').description('fleet-wide agent upgrades with automatic rollback');

  withConnection(
    agents
      .command('upgrade')
      .description('upgrade agents to a packaged version, batch by batch; a new agent not welcomed within the grace is rolled back')
      .usage('--version V (--all | --selector SEL | --nodes a,b) [options]')
      .requiredOption('--version <version>', 'the version to install (its package must be in the artifact store)')
      .option('--all', 'every node')
      .option('--selector <sel>', 'nodes matching a label selector', selector)
      .option('--nodes <names>', 'these nodes (comma-separated, repeatable)', collectList)
      .option('--batch-size <n>', 'nodes per batch; a batch starts once the one before ended', positiveInt)
      .option('--max-unavailable <n>', 'at most this many upgrading at once (default 1)', positiveInt)
      .option('--canary <n>', 'upgrade this many first, alone; any failure among them pauses', nonNegativeInt)
      .option('--failure-threshold <n>', 'pause once more than this many nodes failed or rolled back (default 0)', nonNegativeInt)
      .addOption(durationOption('--grace <duration>', 'how long a new agent has to be welcomed before it is rolled back (default 2m)'))
      .option('--watch', 'follow the progress until the upgrade completes, pauses or is aborted')
      .option('--json', 'print JSON'),
  ).action(async (opts: UpgradeOpts, cmd: Command) => {
    const target = nodeTarget(opts, { name: '--nodes', usage: '--nodes a,b' });
    const client = clientFor(cmd);
    let u = await client.createAgentUpgrade({
      version: opts.version,
      target,
      ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
      ...(opts.maxUnavailable !== undefined ? { maxUnavailable: opts.maxUnavailable } : {}),
      ...(opts.canary !== undefined ? { canary: opts.canary } : {}),
      ...(opts.failureThreshold !== undefined ? { failureThreshold: opts.failureThreshold } : {}),
      ...(opts.grace !== undefined ? { graceMs: opts.grace } : {}),
    });
    if (!opts.watch) return opts.json ? printJson(u) : printUpgrade(u);
    println(`${u.id}: upgrading ${u.total} node(s) to ${u.version}`);
    let last = '';
    // Bounded by the rollout itself: it ends, or pauses for an operator.
    while (!FINAL.has(u.state) && u.state !== 'paused') {
      await new Promise((r) => setTimeout(r, 1000));
      u = await client.getAgentUpgrade(u.id);
      const line = `${u.state}  ${countsText(u.counts)}`;
      if (line !== last) println(`${new Date().toISOString().slice(11, 19)}  ${(last = line)}`);
    }
    if (opts.json) printJson(u);
    else printUpgrade(u);
    if (u.state !== 'completed') process.exitCode = 1;
  });

  const upgrades = agents.command('upgrades').description('list, show, pause, resume or abort agent upgrades');
  withConnection(
    upgrades
      .command('ls')
      .description('agent upgrades, newest first')
      .addOption(new Option('--state <state>', 'only upgrades in this state').choices([...AGENT_UPGRADE_STATES]))
      .option('--json', 'print JSON'),
  ).action(async (opts: { state?: AgentUpgradeState; json?: boolean }, cmd: Command) => {
    const { items } = await clientFor(cmd).listAgentUpgrades({ ...(opts.state ? { state: opts.state } : {}) });
    if (opts.json) return printJson(items);
    if (items.length === 0) return println('no agent upgrades');
    println(table(['ID', 'VERSION', 'STATE', 'NODES', 'PROGRESS', 'CREATED'], items.map((u) => [u.id, u.version, u.state, String(u.total), countsText(u.counts), ago(u.createdAt)])));
  });
  withConnection(upgrades.command('get').description('one upgrade: its batches and nodes').argument('<id>', 'upgrade id').option('--json', 'print JSON')).action(
    async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const u = await clientFor(cmd).getAgentUpgrade(id);
      return opts.json ? printJson(u) : printUpgrade(u);
    },
  );
  for (const [verb, what] of [
    ['pause', 'pause: no more nodes start (those upgrading finish)'],
    ['resume', 'resume a paused upgrade (it pauses again while failures are past the threshold)'],
    ['abort', 'abort: nodes not started are skipped (those upgrading finish)'],
  ] as const) {
    withConnection(upgrades.command(verb).description(what).argument('<id>', 'upgrade id')).action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = clientFor(cmd);
      const u = verb === 'pause' ? await client.pauseAgentUpgrade(id) : verb === 'resume' ? await client.resumeAgentUpgrade(id) : await client.abortAgentUpgrade(id);
      println(`${u.id}: ${u.state} (${countsText(u.counts)})`);
    });
  }
}
