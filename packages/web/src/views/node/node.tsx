import { useMemo } from 'react';
import { useSession } from '../../app-context.js';
import type { Node } from '../../api/types.js';
import { LabelChips, ProtocolBadge, SkewBadge, StatusBadge, UsageBar } from '../../components/badges.js';
import { CommandsTable } from '../../components/commands-table.js';
import { Facts, PageHeader, Section } from '../../components/page.js';
import { Empty, Resolved } from '../../components/states.js';
import { ago, bytes, time, uptime } from '../../format.js';
import { useResource } from '../../hooks/use-resource.js';
import { useRole } from '../../hooks/use-role.js';
import { NodeCharts } from './charts.js';
import { FileBrowser } from './file-browser.js';
import { RunBox } from './run-box.js';
import { TerminalPanel } from './terminal.js';
import { NodeServices } from './services.js';
import { NodeConfig } from './config.js';

export function NodeView({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const { api } = useSession();
  const node = useResource(`node:${id}`, () => api.node(id), {
    // node.plugin: a plugin came or went, so the catalog the run box offers changed.
    refreshOn: (e) => (e.kind === 'node.status' || e.kind === 'node.changed' || e.kind === 'node.plugin') && (e.nodeId === id || ('name' in e && e.name === id)),
    throttleMs: 300,
    pollMs: 15_000,
  });
  return (
    <Resolved {...node}>
      {(n) => <NodeDetail node={n} />}
    </Resolved>
  );
}

function NodeDetail({ node: n }: { node: Node }) {
  const { api } = useSession();
  const commands = useResource(`node-commands:${n.id}`, () => api.commands({ node: n.id, limit: 100 }), {
    refreshOn: (e) => e.kind === 'command.state' && e.nodeId === n.id,
    throttleMs: 500,
  });
  const s = n.stats;
  const disk = useMemo(() => {
    const ds = s?.disks ?? n.disks;
    const used = ds.reduce((a, d) => a + d.usedBytes, 0);
    const total = ds.reduce((a, d) => a + d.totalBytes, 0);
    return total > 0 ? (used / total) * 100 : null;
  }, [s, n.disks]);
  const online = n.status === 'online';
  const role = useRole();
  return (
    <>
      <PageHeader
        title={
          <>
            {n.name} <StatusBadge status={n.status} /> <SkewBadge skew={n.versionSkew} /> <ProtocolBadge protocol={n.protocol} />
          </>
        }
        subtitle={`${n.hostname || 'unknown host'} · ${n.os.distro ?? n.os.platform} ${n.os.release} · ${n.arch} · agent ${n.agentVersion || '?'} · last seen ${ago(n.lastSeenAt)}`}
      />
      <div className="grid-2">
        <Section title="Inventory">
          <Facts
            items={[
              ['ID', <code key="id">{n.id}</code>],
              ['Protocol', <ProtocolBadge key="p" protocol={n.protocol} />],
              ...(n.versionSkew
                ? ([['Version skew', `agent protocol ${n.versionSkew.agentProtocol} refused by control plane ${n.versionSkew.serverProtocol} ${ago(n.versionSkew.at)}: ${n.versionSkew.verdict === 'agent_too_old' ? 'upgrade the agent' : 'upgrade the control plane'}`] as [string, string]])
                : []),
              ['Labels', <LabelChips key="l" labels={n.labels} />],
              ['Addresses', n.addresses.join(', ') || '—'],
              ['CPU', `${n.cpuCores} cores`],
              ['Memory', bytes(n.memoryBytes)],
              ['Disks', n.disks.map((d) => `${d.mount} ${bytes(d.totalBytes)}`).join(', ') || '—'],
              ['Modules', n.modules.join(', ') || '—'],
              ['Capabilities', n.capabilities.join(', ') || '—'],
              ['Enrolled', time(n.createdAt)],
              ['Heartbeat', `every ${Math.round(n.heartbeatIntervalMs / 1000)} s`],
            ]}
          />
        </Section>
        <Section title="Now">
          <Facts
            items={[
              ['CPU', <UsageBar key="c" percent={s ? s.cpu.usagePercent : null} />],
              ['Memory', <UsageBar key="m" percent={s && s.memory.totalBytes ? (s.memory.usedBytes / s.memory.totalBytes) * 100 : null} />],
              ['Disk', <UsageBar key="d" percent={disk} />],
              ['Load', s ? s.load.map((l) => l.toFixed(2)).join(' · ') : '—'],
              ['Uptime', s ? uptime(s.uptimeSeconds) : '—'],
            ]}
          />
        </Section>
      </div>
      <Section title="Last hour">
        <NodeCharts nodeId={n.id} refreshMs={n.heartbeatIntervalMs} />
      </Section>
      <Section title="Services">
        <NodeServices nodeId={n.id} />
      </Section>
      {n.protocol === 'steward' ? (
        <Section title="Config">
          <NodeConfig nodeId={n.id} />
        </Section>
      ) : null}
      <Section title="Run a command">
        <RunBox nodeId={n.id} online={online} commandTypes={n.commandTypes.map((t) => t.type)} />
      </Section>
      {/* Terminals and recordings need the operator role; a reader is offered neither. */}
      {role && role !== 'reader' && n.protocol === 'steward' ? (
        <Section title="Terminal">
          <TerminalPanel nodeId={n.id} online={online} />
        </Section>
      ) : null}
      <Section title="Files">
        <FileBrowser nodeId={n.id} online={online} />
      </Section>
      <Section title="Commands">
        <Resolved {...commands} isEmpty={(d) => d.length === 0} empty={<Empty title="No commands for this node yet" />}>
          {(cs) => <CommandsTable commands={cs} showNode={false} maxHeight="420px" />}
        </Resolved>
      </Section>
    </>
  );
}
