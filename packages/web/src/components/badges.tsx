import type { VersionSkew } from '@steward/protocol';
/** Colour class per state word; unknown words get the neutral style. */
const TONE: Record<string, string> = {
  online: 'ok',
  succeeded: 'ok',
  running: 'busy',
  dispatched: 'busy',
  pending: 'wait',
  awaiting_approval: 'wait',
  offline: 'bad',
  failed: 'bad',
  timed_out: 'bad',
  cancelled: 'muted',
  expired: 'muted',
  firing: 'bad',
  resolved: 'ok',
  live: 'ok',
  // tasks
  queued: 'wait',
  placed: 'busy',
  lost: 'bad',
  // services
  installing: 'wait',
  starting: 'wait',
  unhealthy: 'bad',
  backoff: 'wait',
  stopped: 'muted',
  fatal: 'bad',
  killed: 'bad',
  // alert severities
  critical: 'bad',
  warning: 'wait',
  info: 'neutral',
  acked: 'muted',
  // pushed agent config
  applied: 'ok',
  rejected: 'bad',
  connecting: 'wait',
  // also a node not back yet after a control-plane restart (docs/reconnect.md)
  reconnecting: 'wait',
  // agent upgrades
  paused: 'wait',
  aborted: 'muted',
  completed: 'ok',
  upgrading: 'busy',
  upgraded: 'ok',
  rolled_back: 'bad',
  skipped: 'muted',
};

export function StatusBadge({ status, title }: { status: string; title?: string }) {
  return (
    <span className={`badge badge-${TONE[status] ?? 'neutral'}`} data-status={status} title={title}>
      {status.replace('_', ' ')}
    </span>
  );
}

/** The protocol a node speaks: Steward's agent, or a seed system's (retire-cluster, bootagent, backupx). */
export function ProtocolBadge({ protocol }: { protocol: string }) {
  return (
    <span className={`badge badge-${protocol === 'steward' ? 'muted' : 'busy'}`} data-protocol={protocol}>
      {protocol}
    </span>
  );
}

export function LabelChips({ labels }: { labels: Record<string, string> }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <span className="chips">
      {entries.map(([k, v]) => (
        <span className="chip" key={k}>
          {k}={v}
        </span>
      ))}
    </span>
  );
}

/** A usage bar (0–100 %) with its figure; amber past 75 %, red past 90 %. */
export function UsageBar({ percent, label }: { percent: number | null; label?: string }) {
  if (percent === null || !Number.isFinite(percent)) return <span className="muted">—</span>;
  const p = Math.max(0, Math.min(100, percent));
  const tone = p >= 90 ? 'bad' : p >= 75 ? 'warn' : 'ok';
  return (
    <span className="bar" title={label ? `${label}: ${p.toFixed(1)} %` : `${p.toFixed(1)} %`}>
      <span className="bar-track">
        <span className={`bar-fill bar-${tone}`} style={{ width: `${p}%` }} />
      </span>
      <span className="bar-figure">{Math.round(p)}%</span>
    </span>
  );
}

/** Progress (0–100 %) of work, one colour: unlike usage, a full bar is good news. */
export function ProgressBar({ percent }: { percent: number | null }) {
  if (percent === null || !Number.isFinite(percent)) return <span className="muted">—</span>;
  const p = Math.max(0, Math.min(100, percent));
  return (
    <span className="bar" title={`${p.toFixed(1)} %`}>
      <span className="bar-track">
        <span className="bar-fill bar-ok" style={{ width: `${p}%` }} />
      </span>
      <span className="bar-figure">{Math.round(p)}%</span>
    </span>
  );
}

/** The node's agent was refused for its protocol version: it stays offline until one side is upgraded. */
export function SkewBadge({ skew }: { skew: VersionSkew | null | undefined }) {
  if (!skew) return null;
  const fix = skew.verdict === 'agent_too_old' ? 'upgrade the agent' : 'upgrade the control plane';
  return (
    <span className="badge badge-bad" data-skew={skew.agentProtocol} title={`agent protocol ${skew.agentProtocol}, control plane ${skew.serverProtocol}: ${fix}`}>
      incompatible {skew.agentProtocol}
    </span>
  );
}
