import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { ValidationError } from '@steward/protocol/errors';
import type { Service, ServiceLogsFollowResult, ServiceNodeStatus, ServicePut } from '@steward/protocol';
import { healthText, restartText } from '@steward/protocol/service-text';
import type { StewardClient } from '@steward/client';
import { durationOption, positiveInt } from '../args.js';
import { EXIT_FAILURE } from '../errors.js';
import { EXIT_INTERRUPTED, onInterrupt } from '../interrupt.js';
import { nodeRollout, rolloutDone } from '../rollout.js';
import { clientFor, withConnection } from '../connect.js';
import { ago, span, table, timestamp } from '../format.js';
import { eprintln, printJson, println } from '../output.js';

/** Reads one or more service documents (`name:` plus the spec) from a YAML file. */
export function readServiceFile(path: string): { name: string; spec: ServicePut }[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ValidationError(`${path}: ${(e as Error).message}`, [{ field: 'FILE', rule: 'readable file' }]);
  }
  const out: { name: string; spec: ServicePut }[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length) throw new ValidationError(`${path}: not valid YAML: ${doc.errors[0]!.message}`, [{ field: 'FILE', rule: 'YAML' }]);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${path}: document ${i + 1} must be a mapping`, [{ field: 'FILE', rule: 'mapping' }]);
    const { name, ...spec } = value as Record<string, unknown>;
    if (typeof name !== 'string' || !name) throw new ValidationError(`${path}: document ${i + 1} has no name`, [{ field: 'name', rule: 'required' }]);
    out.push({ name, spec: spec as ServicePut });
  }
  if (out.length === 0) throw new ValidationError(`${path}: no service in the file`, [{ field: 'FILE', rule: 'at least one service' }]);
  return out;
}

function stateCounts(s: Service): string {
  const counts = new Map<string, number>();
  for (const n of s.nodes) counts.set(n.state, (counts.get(n.state) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${k}=${v}`).join(' ') || '-';
}

/** The node's reason, and a rollback when the reason does not already say it (it usually does). */
export function whyText(n: Pick<ServiceNodeStatus, 'reason' | 'lastOutcome'>): string {
  const o = n.lastOutcome;
  const rollback = o?.kind === 'rolled_back' ? `rolled back from ${o.version}: ${o.reason}` : null;
  if (rollback && n.reason?.includes(rollback)) return n.reason;
  return [n.reason, rollback].filter(Boolean).join('; ');
}

function describeService(s: Service): string {
  const lines = [
    `name:      ${s.name}`,
    `version:   ${s.spec.version} (revision ${s.revision})`,
    `artifact:  ${s.spec.artifact.url ?? `store:${s.spec.artifact.artifactSha256}`} sha256=${s.spec.artifact.sha256.slice(0, 12)}…`,
    `command:   ${[s.spec.command, ...(s.spec.args ?? [])].join(' ')}`,
    `target:    ${JSON.stringify(s.spec.target)} (${s.targeted} nodes now)`,
    `limits:    ${JSON.stringify(s.spec.limits ?? {})}`,
    `restart:   ${restartText(s.spec.restart)}`,
    `health:    ${healthText(s.spec.health)}`,
    `updated:   ${timestamp(s.updatedAt)}`,
  ];
  if (s.nodes.length) {
    lines.push('');
    lines.push(
      table(
        ['NODE', 'VERSION', 'REV', 'STATE', 'RESTARTS', 'UPTIME', 'LIMITS', 'WHY'],
        s.nodes.map((n) => [
          n.nodeName,
          n.version ?? '-',
          n.revision === null ? '-' : String(n.revision),
          n.state,
          String(n.restarts),
          n.uptimeMs === null ? '-' : span(n.uptimeMs),
          n.limits,
          whyText(n),
        ]),
      ),
    );
  }
  return lines.join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Prints each node's progress on the service's revision as it changes, until every targeted
 * node has it running or failed it, or the time is up; a failure says which node and why.
 */
async function followRollout(client: StewardClient, applied: Service, timeoutMs: number, quiet: boolean): Promise<Service> {
  const end = Date.now() + timeoutMs;
  const shown = new Map<string, string>();
  let s = applied;
  for (;;) {
    s = await client.getService(applied.name);
    if (s.revision !== applied.revision) throw new ValidationError(`${s.name} was changed again (revision ${s.revision}) while following revision ${applied.revision}`, [{ field: 'revision', rule: 'unchanged while waiting' }]);
    for (const n of s.nodes) {
      const r = nodeRollout(s, n);
      if (!quiet && shown.get(n.nodeId) !== r.text) println(`[${n.nodeName}] ${r.text}`);
      shown.set(n.nodeId, r.text);
    }
    if (rolloutDone(s) || Date.now() >= end) break;
    await sleep(1000);
  }
  const outcomes = s.nodes.map((n) => ({ node: n.nodeName, ...nodeRollout(s, n) }));
  const failed = outcomes.filter((o) => o.failed);
  const ok = outcomes.filter((o) => o.done && !o.failed).length;
  const missing = Math.max(0, s.targeted - outcomes.filter((o) => o.done).length);
  if (!quiet) println(`${s.name} revision ${s.revision} (${s.spec.version}): ${ok} of ${s.targeted} nodes running it${failed.length ? `, ${failed.length} failed` : ''}${missing ? `, ${missing} not done after ${span(timeoutMs)}` : ''}`);
  for (const f of failed) eprintln(`error: ${s.name} on ${f.node}: ${f.text}`);
  if (failed.length || missing) process.exitCode = EXIT_FAILURE;
  return s;
}

export function registerServices(program: Command): void {
  const services = program.command('services').description('supervised services: desired state, per-node status, logs');

  withConnection(
    services
      .command('apply')
      .description('create or change services from a YAML file (name: plus the spec)')
      .argument('<file>', 'YAML file')
      .option('--wait', 'follow the rollout on each node until every targeted node has it (or failed); exit 1 if any failed')
      .addOption(durationOption('--timeout <duration>', 'with --wait: how long to follow the rollout', 300_000))
      .option('--json', 'print JSON'),
  ).action(async (file: string, opts: { json?: boolean; wait?: boolean; timeout: number }, cmd: Command) => {
    const client = clientFor(cmd);
    const results: Service[] = [];
    for (const { name, spec } of readServiceFile(file)) {
      const { service, created } = await client.putService(name, spec);
      results.push(service);
      if (!opts.json) println(`${service.name}: ${created ? 'created' : 'applied'} revision ${service.revision} (${service.spec.version}), ${service.targeted} nodes targeted`);
    }
    if (opts.wait) {
      for (const [i, s] of results.entries()) results[i] = await followRollout(client, s, opts.timeout, Boolean(opts.json));
    }
    if (opts.json) printJson(results);
  });

  withConnection(services.command('ls').description('list services and their states across nodes').option('--json', 'print JSON')).action(
    async (opts: { json?: boolean }, cmd: Command) => {
      const { items } = await clientFor(cmd).listServices();
      if (opts.json) return printJson(items);
      if (items.length === 0) return println('no services');
      println(
        table(
          ['NAME', 'VERSION', 'REV', 'TARGETED', 'REPORTING', 'STATES', 'UPDATED'],
          items.map((s) => [s.name, s.spec.version, String(s.revision), String(s.targeted), String(s.nodes.length), stateCounts(s), ago(s.updatedAt)]),
        ),
      );
    },
  );

  withConnection(services.command('show').description('a service and each node: version, state, restarts, uptime, why').argument('<name>').option('--json', 'print JSON')).action(
    async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const s = await clientFor(cmd).getService(name);
      if (opts.json) return printJson(s);
      println(describeService(s));
    },
  );

  withConnection(services.command('rm').description('uninstall a service from every node').argument('<name>')).action(async (name: string, _o: unknown, cmd: Command) => {
    await clientFor(cmd).deleteService(name);
    println(`${name}: deleted; nodes are uninstalling it`);
  });

  for (const verb of ['start', 'stop', 'restart', 'status'] as const) {
    withConnection(
      services.command(verb).description(`${verb} a service on one node`).argument('<name>').requiredOption('--node <node>', 'node id or name').option('--json', 'print JSON'),
    ).action(async (name: string, opts: { node: string; json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).serviceAction(name, verb, opts.node);
      if (opts.json) return printJson(r);
      println(`${r.name} on ${opts.node}: ${r.state}${r.version ? ` ${r.version}` : ''}${r.pid ? ` pid ${r.pid}` : ''}, ${r.restarts} restarts${r.reason ? ` (${r.reason})` : ''}`);
    });
  }

  withConnection(
    services
      .command('logs')
      .description("a service's output on one node (stdout and stderr)")
      .argument('<name>')
      .requiredOption('--node <node>', 'node id or name')
      .option('-f, --follow', 'keep printing new output as the service writes it, until Ctrl-C')
      .option('--bytes <n>', 'how much of the end to show first', positiveInt, 16384)
      .addOption(durationOption('--timeout <duration>', 'with --follow: stop following after this long', 24 * 3_600_000)),
  ).action(async (name: string, opts: { node: string; follow?: boolean; bytes: number; timeout: number }, cmd: Command) => {
    const client = clientFor(cmd);
    if (opts.follow) return followLogs(client, name, opts);
    const chunk = await client.serviceLogs(name, { node: opts.node, maxBytes: opts.bytes });
    process.stdout.write(chunk.data);
  });
}

const FOLLOW_ENDED: Record<ServiceLogsFollowResult['ended'], string> = {
  timeout: '(stopped following: --timeout reached)',
  cap: "(stopped following: the agent's stream cap for one command was reached; run it again to go on)",
  removed: '(stopped following: the service was removed from the node)',
};

/**
 * `logs --follow`: one `service.logs` command with `follow` on the node; its streamed output
 * is printed as it arrives. Ctrl-C cancels the command, waits for its end and exits 130.
 */
async function followLogs(client: StewardClient, name: string, opts: { node: string; bytes: number; timeout: number }): Promise<void> {
  const { command } = await client.submitCommand({
    node: opts.node,
    type: 'service.logs',
    payload: { name, follow: true, maxBytes: Math.min(opts.bytes, 1_048_576) },
    timeoutMs: opts.timeout,
  });
  const release = onInterrupt(
    { what: `following ${name} on ${opts.node} (command ${command.id})`, cancelCommand: `steward commands cancel ${command.id}`, cancel: () => client.cancelCommand(command.id) },
    true,
  );
  try {
    for await (const e of client.commandOutput(command.id)) {
      if (e.event === 'output') process.stdout.write(e.chunk.data);
      else if (e.event === 'truncated') eprintln(`(the control plane stopped storing this follow's output after ${e.bytes} bytes)`);
      else if (e.event === 'end' && e.command.state === 'succeeded') eprintln(FOLLOW_ENDED[(e.command.result as ServiceLogsFollowResult).ended] ?? '(stopped following)');
      else if (e.event === 'end' && process.exitCode !== EXIT_INTERRUPTED) {
        eprintln(`error: ${e.command.error?.message ?? `following ended ${e.command.state}`}`);
        process.exitCode = EXIT_FAILURE;
      }
    }
  } finally {
    release();
  }
}
