import { Option, type Command } from 'commander';
import { ApiError } from '@steward/client';
import { parseLabelArgs } from '@steward/protocol/labels';
import type { Node, NodeStatus } from '@steward/protocol';
import { checkNodeName, collectLabel, labelEdits, NODE_STATUS_CHOICES, selector } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { ago, bytes, labelsText, table, timestamp } from '../format.js';
import { printJson, println } from '../output.js';

export function nodeRows(nodes: readonly Node[], now: number = Date.now()): string[][] {
  return nodes.map((n) => [
    n.id,
    n.name,
    statusText(n),
    n.protocol,
    labelsText(n.labels),
    `${n.os?.platform ?? '?'}/${n.arch ?? '?'}`,
    String(n.cpuCores ?? '-'),
    bytes(n.memoryBytes),
    ago(n.lastSeenAt, now),
  ]);
}

/** The status, marked when the node's agent was refused for its protocol version (it stays offline until one side is upgraded). */
function statusText(n: Node): string {
  return n.versionSkew ? `${n.status} (incompatible: agent protocol ${n.versionSkew.agentProtocol})` : n.status;
}

export const NODE_COLUMNS = ['ID', 'NAME', 'STATUS', 'PROTOCOL', 'LABELS', 'OS/ARCH', 'CPU', 'MEM', 'LAST SEEN'];

function describeNode(n: Node): string {
  const lines = [
    `id:         ${n.id}`,
    `name:       ${n.name}`,
    `status:     ${n.status}${n.connected ? ' (connected)' : ''} since ${timestamp(n.statusChangedAt)}`,
    `last seen:  ${ago(n.lastSeenAt)}`,
    `protocol:   ${n.protocol}`,
    ...(n.versionSkew
      ? [`skew:       agent protocol ${n.versionSkew.agentProtocol} refused by control plane ${n.versionSkew.serverProtocol} ${ago(n.versionSkew.at)}: ${n.versionSkew.verdict === 'agent_too_old' ? 'upgrade the agent' : 'upgrade the control plane'}`]
      : []),
    `hostname:   ${n.hostname}`,
    `addresses:  ${n.addresses.join(', ') || '-'}`,
    `os/arch:    ${[n.os.platform, n.os.distro, n.os.release].filter(Boolean).join(' ')} / ${n.arch}`,
    `agent:      ${n.agentVersion}`,
    `cpu:        ${n.cpuCores} cores`,
    `memory:     ${bytes(n.memoryBytes)}`,
    `labels:     ${labelsText(n.labels)}`,
    `modules:    ${n.modules.join(', ') || '-'}`,
    `heartbeat:  every ${Math.round(n.heartbeatIntervalMs / 1000)}s`,
    `enrolled:   ${timestamp(n.createdAt)}`,
  ];
  if (n.stats) {
    const s = n.stats;
    lines.push(
      `load:       ${s.load.map((l) => l.toFixed(2)).join(' ')}  cpu ${s.cpu.usagePercent.toFixed(0)}%`,
      `mem used:   ${bytes(s.memory.usedBytes)} of ${bytes(s.memory.totalBytes)}`,
    );
    for (const d of s.disks) {
      lines.push(`disk ${d.mount}: ${bytes(d.usedBytes)} used of ${bytes(d.totalBytes)}`);
    }
  }
  return lines.join('\n');
}

export function registerNodes(program: Command): void {
  const nodes = program.command('nodes').description('list and manage nodes');

  withConnection(
    nodes
      .command('ls')
      .description('list nodes')
      .addOption(new Option('--status <status>', 'only nodes with this status').choices(NODE_STATUS_CHOICES))
      .option('--selector <sel>', 'label selector, e.g. env=prod,role!=db', selector)
      .option('--json', 'print JSON'),
  ).action(async (opts: { status?: NodeStatus; selector?: string; json?: boolean }, cmd: Command) => {
    const { items } = await clientFor(cmd).listNodes({ status: opts.status, selector: opts.selector });
    if (opts.json) return printJson(items);
    if (items.length === 0) return println('no nodes');
    println(table(NODE_COLUMNS, nodeRows(items)));
  });

  withConnection(
    nodes.command('show').description('show one node').argument('<node>', 'node id or name').option('--json', 'print JSON'),
  ).action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
    const node = await clientFor(cmd).getNode(id);
    if (opts.json) return printJson(node);
    println(describeNode(node));
  });

  withConnection(
    nodes
      .command('label')
      .description('set (k=v) or remove (k-) labels')
      .argument('<node>', 'node id or name')
      .argument('<changes...>', 'k=v to set, k- to remove')
      .option('--json', 'print JSON'),
  ).action(async (id: string, changes: string[], opts: { json?: boolean }, cmd: Command) => {
    const patch = labelEdits(changes);
    const node = await clientFor(cmd).patchNode(id, { labels: patch });
    if (opts.json) return printJson(node);
    println(`${node.name}: ${labelsText(node.labels)}`);
  });

  withConnection(
    nodes
      .command('rename')
      .description('rename a node')
      .argument('<node>', 'node id or name')
      .argument('<new-name>', 'new name'),
  ).action(async (id: string, name: string, _opts: unknown, cmd: Command) => {
    checkNodeName(name, 'new-name');
    const node = await clientFor(cmd).patchNode(id, { name });
    println(`renamed ${node.id} to ${node.name}`);
  });

  withConnection(
    nodes
      .command('rotate-credential')
      .description("send an online node a new credential over its connection; the old one stops working once the agent stored it")
      .argument('<node>', 'node id or name'),
  ).action(async (id: string, _opts: unknown, cmd: Command) => {
    const r = await clientFor(cmd).rotateNodeCredential(id);
    println(`sent ${r.nodeId} a new credential (${r.credentialId}); the old one stops working once the agent confirms it`);
  });

  withConnection(
    nodes
      .command('revoke')
      .description('refuse the node\'s credential from now on and close its connection (it must enroll again)')
      .argument('<node>', 'node id or name'),
  ).action(async (id: string, _opts: unknown, cmd: Command) => {
    const node = await clientFor(cmd).revokeNode(id);
    println(`revoked ${node.name} (${node.id}); its agent can no longer connect`);
  });

  withConnection(
    nodes
      .command('rm')
      .description('delete a node (its agent must enroll again)')
      .argument('<node>', 'node id or name')
      .option('--force', 'delete even with pending or running commands'),
  ).action(async (id: string, opts: { force?: boolean }, cmd: Command) => {
    try {
      await clientFor(cmd).deleteNode(id, { force: Boolean(opts.force) });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && !opts.force) {
        throw new ApiError(e.status, e.code, `${e.message} (add --force)`, e.details);
      }
      throw e;
    }
    println(`deleted ${id}`);
  });

  withConnection(
    nodes
      .command('pending')
      .description('devices of Retire-Cluster or BootAgent waiting for admission (add --all for decided ones)')
      .option('--all', 'approved and rejected ones too')
      .option('--json', 'print JSON'),
  ).action(async (opts: { all?: boolean; json?: boolean }, cmd: Command) => {
    const { items } = await clientFor(cmd).listAdmissions(opts.all ? {} : { state: 'pending' });
    if (opts.json) return printJson(items);
    if (items.length === 0) return println(opts.all ? 'no devices have asked to join' : 'no devices are waiting');
    println(
      table(
        ['ID', 'PROTOCOL', 'DEVICE', 'HOSTNAME', 'FROM', 'STATE', 'LAST SEEN'],
        items.map((a) => [a.id, a.protocol, a.externalId, a.hostname, a.source, a.state, ago(a.seenAt)]),
      ),
    );
  });

  withConnection(
    nodes
      .command('approve')
      .description('admit a waiting device as a node (as salt-key -a does)')
      .argument('<device>', 'admission id, or the device id it sent (sender_id, agentsn)')
      .option('--name <name>', 'node name (default: from its hostname)')
      .option('--label <k=v>', 'label for the new node (repeatable)', collectLabel, [])
      .option('--json', 'print JSON'),
  ).action(async (id: string, opts: { name?: string; label: string[]; json?: boolean }, cmd: Command) => {
    if (opts.name) checkNodeName(opts.name, '--name');
    const a = await clientFor(cmd).approveAdmission(id, {
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.label.length ? { labels: parseLabelArgs(opts.label, '--label') } : {}),
    });
    if (opts.json) return printJson(a);
    const node = a.nodeId ? await clientFor(cmd).getNode(a.nodeId) : undefined;
    println(`approved ${a.protocol} device ${a.externalId}: node ${node?.name ?? a.nodeId}`);
  });

  withConnection(
    nodes
      .command('reject')
      .description('refuse a waiting device; it gets an error reply until approved')
      .argument('<device>', 'admission id, or the device id it sent')
      .option('--json', 'print JSON'),
  ).action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
    const a = await clientFor(cmd).rejectAdmission(id);
    if (opts.json) return printJson(a);
    println(`rejected ${a.protocol} device ${a.externalId}`);
  });
}
