import { useEffect, useRef, useState } from 'react';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { useSession } from '../app-context.js';
import type { SessionRecording } from '../api/types.js';
import { StatusBadge } from '../components/badges.js';
import { DataTable, type Column } from '../components/data-table.js';
import { PageHeader, Section } from '../components/page.js';
import { Empty, ErrorBox, Loading, Resolved } from '../components/states.js';
import { ago, bytes, duration, time } from '../format.js';
import { useNodeNames } from '../hooks/use-node-names.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { useRole } from '../hooks/use-role.js';
import { Link, useLocation } from '../router.js';

/** Recorded terminal sessions, with replay (asciinema-player, loaded when first needed). */
export function SessionsView() {
  const role = useRole();
  if (role === 'reader') {
    return (
      <>
        <PageHeader title="Sessions" subtitle="Recorded terminal sessions." />
        <Empty title="Recordings need an operator token">They hold whatever a terminal showed, secrets included; a reader token may not read them.</Empty>
      </>
    );
  }
  return <SessionList />;
}

function SessionList() {
  const { api } = useSession();
  const { search } = useLocation();
  const node = search.get('node') ?? undefined;
  const now = useNow(10_000);
  const names = useNodeNames();
  const [playing, setPlaying] = useState<SessionRecording | null>(null);
  // A recording is written just after its session ends; the event comes first, so poll a little too.
  const sessions = useResource(`sessions:${node ?? ''}`, () => api.sessions({ node, limit: 1000 }), {
    refreshOn: (e) => e.kind === 'command.state' && e.type === 'shell.session' && ['succeeded', 'failed', 'timed_out', 'cancelled'].includes(e.state),
    throttleMs: 1000,
    pollMs: 10_000,
  });
  const nodeLink = (id: string) => <Link to={`/nodes/${encodeURIComponent(id)}`}>{names.get(id) ?? id}</Link>;
  const columns: Column<SessionRecording>[] = [
    { key: 'started', header: 'Started', width: '110px', render: (s) => <span title={time(s.startedAt)}>{ago(s.startedAt, now)}</span>, sortValue: (s) => s.startedAt },
    { key: 'node', header: 'Node', width: 'minmax(100px, 1fr)', render: (s) => nodeLink(s.nodeId), sortValue: (s) => names.get(s.nodeId) ?? s.nodeId },
    { key: 'who', header: 'Opened by', width: 'minmax(100px, 1fr)', render: (s) => (s.openedBy ? <span title={s.openedBy.tokenId}>{s.openedBy.name}</span> : '—'), sortValue: (s) => s.openedBy?.name ?? '' },
    { key: 'duration', header: 'Duration', width: '90px', render: (s) => duration(s.durationMs), sortValue: (s) => s.durationMs },
    { key: 'exit', header: 'Exit', width: '110px', render: (s) => (s.exitCode !== null ? <code>{s.exitCode}</code> : <StatusBadge status={s.state} />), sortValue: (s) => s.exitCode ?? -1 },
    { key: 'size', header: 'Size', width: '80px', render: (s) => bytes(s.bytes), sortValue: (s) => s.bytes },
    {
      key: 'replay',
      header: '',
      width: '80px',
      render: (s) => (
        <button type="button" onClick={() => setPlaying(s)} aria-label={`replay ${s.id}`}>
          Replay
        </button>
      ),
    },
  ];
  return (
    <>
      <PageHeader
        title="Sessions"
        subtitle={
          <>
            Recorded terminal sessions (output and timing, never keystrokes){node ? <> on {nodeLink(node)} · <Link to="/sessions">all nodes</Link></> : null}. Kept for the control plane&apos;s session retention.
          </>
        }
      />
      {playing && (
        <Section
          title={`Session on ${names.get(playing.nodeId) ?? playing.nodeId}, ${time(playing.startedAt)}`}
          actions={
            <button type="button" onClick={() => setPlaying(null)}>
              Close
            </button>
          }
        >
          <Replay key={playing.id} id={playing.id} />
        </Section>
      )}
      <Section title="Recordings">
        <Resolved
          {...sessions}
          isEmpty={(d) => d.length === 0}
          empty={
            <Empty title="No recorded sessions">
              Open a terminal on a node&apos;s page, or run <code>steward shell NODE</code>; each session is recorded when it ends.
            </Empty>
          }
        >
          {(rows) => <DataTable label="sessions" rows={rows} columns={columns} rowKey={(s) => s.id} maxHeight="420px" />}
        </Resolved>
      </Section>
    </>
  );
}

/** The player's warnings and errors reach the console (its default logger drops them); its chatter does not. */
const PLAYER_LOG = { log() {}, debug() {}, info() {}, warn: console.warn.bind(console), error: console.error.bind(console) };

/** Plays one recording; the file is fetched with the token (the player cannot send it). */
function Replay({ id }: { id: string }) {
  const { api } = useSession();
  const box = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<{ loading: boolean; error?: Error }>({ loading: true });
  useEffect(() => {
    let disposed = false;
    let dispose = () => {};
    void (async () => {
      try {
        const [cast, player] = await Promise.all([api.recording(id), import('asciinema-player')]);
        if (disposed || !box.current) return;
        const p = player.create({ data: cast }, box.current, { autoPlay: true, idleTimeLimit: 2, fit: 'width', terminalFontSize: '13px', logger: PLAYER_LOG });
        dispose = () => p.dispose();
        setState({ loading: false });
      } catch (err) {
        if (!disposed) setState({ loading: false, error: err as Error });
      }
    })();
    return () => {
      disposed = true;
      dispose();
    };
  }, [api, id]);
  return (
    <div data-testid="session-replay">
      {state.loading && <Loading what="Loading the recording" />}
      {state.error && <ErrorBox error={state.error} />}
      <div ref={box} className="replay-box" />
      <p className="hint">
        Download: <code>steward sessions cat {id} &gt; session.cast</code>, play with <code>asciinema play session.cast</code>.
      </p>
    </div>
  );
}
