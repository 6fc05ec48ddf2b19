import { useState, type FormEvent } from 'react';
import { useSession } from '../app-context.js';
import type { EnrollmentToken, EnrollmentTokenCreated } from '../api/types.js';
import { LabelChips } from '../components/badges.js';
import { CopyBox } from '../components/copy-box.js';
import { DataTable, type Column } from '../components/data-table.js';
import { PageHeader, Section } from '../components/page.js';
import { Empty, Resolved } from '../components/states.js';
import { agentCommandLine, installCommandLine, shellQuote } from '@steward/protocol/command-lines';
import { until } from '../format.js';
import { useResource } from '../hooks/use-resource.js';

export { agentCommandLine, installCommandLine } from '@steward/protocol/command-lines';

/** A systemd unit running that agent; the token is only read on first start (then identity.json is used). */
export function systemdUnit(serverUrl: string, token: string, labels: readonly string[], caPin?: string | null): string {
  const env = [`STEWARD_SERVER=${serverUrl}`, `STEWARD_ENROLL_TOKEN=${token}`, 'STEWARD_AGENT_DATA_DIR=/var/lib/steward-agent'];
  if (caPin) env.push(`STEWARD_CA_SHA256=${caPin}`);
  if (labels.length) env.push(`STEWARD_LABELS=${labels.join(',')}`);
  return [
    '[Unit]',
    'Description=Steward agent',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    ...env.map((e) => `Environment=${JSON.stringify(e)}`),
    'ExecStart=/usr/local/bin/steward agent',
    'Restart=always',
    'RestartSec=2',
    '# The agent supervises its own children; stop only the agent on restart.',
    'KillMode=process',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})=[A-Za-z0-9._-]{0,63}$/;

export function EnrollView() {
  const { api } = useSession();
  const [ttlHours, setTtlHours] = useState('1');
  const [uses, setUses] = useState('1');
  const [labels, setLabels] = useState('');
  const [note, setNote] = useState('');
  const [created, setCreated] = useState<{ token: EnrollmentTokenCreated; labels: string[]; caPin: string | null; serverKeyPin: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const tokens = useResource('enrollment-tokens', api.enrollmentTokens);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const pairs = labels.split(/[,\s]+/).filter(Boolean);
    const bad = pairs.find((p) => !LABEL.test(p));
    if (bad) return setError(`"${bad}" is not a label (k=v)`);
    const hours = Number(ttlHours);
    const n = Number(uses);
    if (!(hours > 0)) return setError('Valid for: a number of hours above 0');
    if (!Number.isInteger(n) || n < 1) return setError('Uses: a whole number, 1 or more');
    setBusy(true);
    setError(null);
    try {
      const token = await api.createEnrollmentToken({
        ttlSeconds: Math.max(1, Math.round(hours * 3600)),
        uses: n,
        ...(pairs.length ? { labels: Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)])) } : {}),
        ...(note.trim() ? { note: note.trim() } : {}),
      });
      // Over TLS the line carries the CA's pin, so the new agent checks it is talking to us.
      const ca = await api.serverCa();
      setCreated({ token, labels: pairs, caPin: ca.tls ? ca.sha256 : null, serverKeyPin: ca.tls ? (ca.serverKeySha256 ?? null) : null });
      tokens.reload();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const columns: Column<EnrollmentToken>[] = [
    { key: 'id', header: 'ID', width: 'minmax(140px, 1fr)', render: (t) => <code>{t.id}</code> },
    { key: 'uses', header: 'Uses left', width: '100px', render: (t) => `${t.usesLeft}/${t.usesAllowed}` },
    { key: 'labels', header: 'Labels', width: 'minmax(120px, 1fr)', render: (t) => <LabelChips labels={t.labels} /> },
    { key: 'expires', header: 'Expires', width: '130px', render: (t) => (t.expired ? 'expired' : until(t.expiresAt)) },
    { key: 'note', header: 'Note', width: 'minmax(100px, 1fr)', render: (t) => t.note ?? '' },
    {
      key: 'rm',
      header: '',
      width: '90px',
      render: (t) => (
        <button type="button" className="link danger" onClick={() => void api.deleteEnrollmentToken(t.id).then(tokens.reload, tokens.reload)}>
          Revoke
        </button>
      ),
    },
  ];

  const server = location.origin;
  return (
    <>
      <PageHeader title="Enroll a machine" subtitle="Create an enrollment token, then install the agent on the new machine with it." />
      <Section title="New enrollment token">
        <form className="form-grid" onSubmit={(e) => void submit(e)}>
          <label>
            Valid for (hours)
            <input aria-label="valid for hours" value={ttlHours} onChange={(e) => setTtlHours(e.target.value)} inputMode="decimal" />
          </label>
          <label>
            Uses
            <input aria-label="uses" value={uses} onChange={(e) => setUses(e.target.value)} inputMode="numeric" />
          </label>
          <label>
            Labels for the nodes
            <input aria-label="labels" placeholder="env=prod role=web" value={labels} onChange={(e) => setLabels(e.target.value)} />
          </label>
          <label>
            Note
            <input aria-label="note" value={note} onChange={(e) => setNote(e.target.value)} />
          </label>
          <div>
            <button type="submit" disabled={busy}>
              {busy ? 'Creating…' : 'Create token'}
            </button>
          </div>
        </form>
        {error && <div className="form-error" role="alert">{error}</div>}
      </Section>
      {created && (
        <Section title="Run this on the new machine">
          <p className="hint">The token is shown only now. It enrolls {created.token.usesAllowed === 1 ? 'one machine' : `${created.token.usesAllowed} machines`}.</p>
          <CopyBox
            label="Install and start the agent (downloads it from this control plane)"
            testId="install-command"
            text={installCommandLine(server, created.token.token, created.labels, created.caPin ? { sha256: created.caPin, serverKeySha256: created.serverKeyPin } : null)}
          />
          <CopyBox label="Or, where steward is installed: agent command line" testId="agent-command" text={agentCommandLine(server, created.token.token, created.labels, created.caPin)} />
          <CopyBox label="systemd unit (/etc/systemd/system/steward-agent.service)" testId="systemd-unit" text={systemdUnit(server, created.token.token, created.labels, created.caPin)} />
        </Section>
      )}
      <Section title="Enrollment tokens">
        <Resolved {...tokens} isEmpty={(d) => d.length === 0} empty={<Empty title="No enrollment tokens" />}>
          {(ts) => <DataTable label="enrollment tokens" rows={ts} columns={columns} rowKey={(t) => t.id} maxHeight="360px" />}
        </Resolved>
      </Section>
    </>
  );
}
