import { useMemo, useRef } from 'react';
import { useSession } from '../../app-context.js';
import type { NodeSample } from '../../api/types.js';
import { TimeChart } from '../../components/chart.js';
import { Empty, ErrorBox, Loading } from '../../components/states.js';
import { useResource } from '../../hooks/use-resource.js';

const HOUR = 3_600_000;
const pct = (u: number, t: number) => (t > 0 ? Math.round((u / t) * 1000) / 10 : null);

/** CPU, memory, disk and load over the last hour, from the samples the control plane keeps. */
export function NodeCharts({ nodeId, refreshMs }: { nodeId: string; refreshMs: number }) {
  const { api } = useSession();
  const kept = useRef<NodeSample[]>([]);
  // Only new samples are fetched after the first load; older than an hour fall off.
  const samples = useResource(
    `samples:${nodeId}`,
    async () => {
      const last = kept.current[kept.current.length - 1]?.at;
      const fresh = await api.samples(nodeId, last);
      const cutoff = Date.now() - HOUR;
      kept.current = [...kept.current, ...fresh].filter((s) => s.at >= cutoff);
      return kept.current;
    },
    { pollMs: Math.max(5000, Math.min(refreshMs, 30_000)) },
  );
  const d = useMemo(() => {
    const s = samples.data ?? [];
    return {
      times: s.map((x) => x.at),
      cpu: [{ label: 'CPU %', values: s.map((x) => x.cpuPercent), color: '#2f6fed' }],
      mem: [{ label: 'memory %', values: s.map((x) => pct(x.memoryUsedBytes, x.memoryTotalBytes)), color: '#9b51e0' }],
      disk: [{ label: 'disk %', values: s.map((x) => pct(x.diskUsedBytes, x.diskTotalBytes)), color: '#f2994a' }],
      load: [
        { label: 'load 1m', values: s.map((x) => x.load1), color: '#27ae60' },
        { label: '5m', values: s.map((x) => x.load5), color: '#56ccf2' },
        { label: '15m', values: s.map((x) => x.load15), color: '#828282' },
      ],
    };
  }, [samples.data]);

  if (samples.loading) return <Loading what="Loading samples" />;
  if (!samples.data) return <ErrorBox error={samples.error ?? new Error('no samples')} retry={samples.reload} />;
  if (samples.data.length === 0) return <Empty title="No samples yet">They arrive with the node's heartbeats (every 15 s by default).</Empty>;
  return (
    <div className="charts">
      <TimeChart title="CPU" times={d.times} series={d.cpu} unit="%" max={100} />
      <TimeChart title="Memory" times={d.times} series={d.mem} unit="%" max={100} />
      <TimeChart title="Disk" times={d.times} series={d.disk} unit="%" max={100} />
      <TimeChart title="Load" times={d.times} series={d.load} />
    </div>
  );
}
