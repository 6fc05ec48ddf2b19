import { Option, type Command } from 'commander';
import { ALERT_STATES } from '@steward/protocol/states';
import type { Alert, AlertState } from '@steward/protocol';
import { clientFor, withConnection } from '../connect.js';
import { ago, table, timestamp } from '../format.js';
import { NodeNames } from '../node-names.js';
import { printJson, println } from '../output.js';

function alertRows(items: readonly Alert[], now = Date.now()): string[][] {
  return items.map((a) => [
    a.id,
    a.state,
    a.severity,
    a.ackedBy ? `acked by ${a.ackedBy}` : '-',
    String(a.count),
    ago(a.lastFiredAt, now),
    a.summary,
  ]);
}

function describeAlert(a: Alert, node: string): string {
  return [
    `id:          ${a.id}`,
    `key:         ${a.key}`,
    `state:       ${a.state}${a.resolvedAt ? ` at ${timestamp(a.resolvedAt)}` : ''}`,
    `severity:    ${a.severity}`,
    `source:      ${a.source}`,
    `node:        ${node}`,
    `summary:     ${a.summary}`,
    `fired:       ${a.count}× — first ${timestamp(a.firstFiredAt)}, last ${timestamp(a.lastFiredAt)}`,
    `resolution:  ${a.resolveSummary ?? '-'}`,
    `acked:       ${a.ackedAt ? `${timestamp(a.ackedAt)} by ${a.ackedBy}` : 'no'}`,
    `details:     ${JSON.stringify(a.details)}`,
  ].join('\n');
}

export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('alerts from monitors and the control plane (default: ls)');

  withConnection(
    alerts
      .command('ls', { isDefault: true })
      .description('list alerts, newest first')
      .addOption(new Option('--state <state>', 'firing or resolved').choices(ALERT_STATES))
      .option('--all', 'resolved ones too (default: firing only)')
      .option('--node <node>', 'only this node (id or name)')
      .option('--unacked', 'only alerts nobody acknowledged')
      .option('--json', 'print JSON'),
  ).action(async (opts: { state?: AlertState; all?: boolean; node?: string; unacked?: boolean; json?: boolean }, cmd: Command) => {
    const state = opts.state ?? (opts.all ? undefined : 'firing');
    const { items } = await clientFor(cmd).listAlerts({ state, nodeId: opts.node, acked: opts.unacked ? false : undefined });
    if (opts.json) return printJson(items);
    if (items.length === 0) return println(state === 'firing' ? 'no firing alerts' : 'no alerts');
    println(table(['ID', 'STATE', 'SEVERITY', 'ACK', 'COUNT', 'LAST FIRED', 'SUMMARY'], alertRows(items)));
  });

  withConnection(alerts.command('show').description('show one alert').argument('<id>', 'alert id').option('--json', 'print JSON')).action(
    async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const client = clientFor(cmd);
      const alert = await client.getAlert(id);
      if (opts.json) return printJson(alert);
      println(describeAlert(alert, alert.nodeId ? await new NodeNames(client).both(alert.nodeId) : '-'));
    },
  );

  withConnection(
    alerts.command('ack').description('acknowledge alerts (recorded with your token\'s name)').argument('<ids...>', 'alert ids').option('--json', 'print JSON'),
  ).action(async (ids: string[], opts: { json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const out: Alert[] = [];
    for (const id of ids) out.push(await client.ackAlert(id));
    if (opts.json) return printJson(out);
    for (const a of out) println(`${a.id}: acknowledged by ${a.ackedBy} at ${timestamp(a.ackedAt)}`);
  });
}
