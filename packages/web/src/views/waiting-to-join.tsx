import { useState } from 'react';
import { useSession } from '../app-context.js';
import type { Admission } from '../api/types.js';
import { ProtocolBadge } from '../components/badges.js';
import { Section } from '../components/page.js';
import { ago } from '../format.js';
import { useResource } from '../hooks/use-resource.js';
import { useRole } from '../hooks/use-role.js';

/** Admissions raise no event: the list is asked for again on this interval. */
const PENDING_REFRESH_MS = 5000;

/**
 * Devices of credential-less protocols (Retire-Cluster, BootAgent) waiting for an operator,
 * with Approve and Reject (as `steward nodes approve|reject`). Shown only when some wait and
 * the token may decide: a reader's approval would be refused.
 */
export function WaitingToJoin() {
  const { api } = useSession();
  const role = useRole();
  const mayDecide = role === 'admin' || role === 'operator';
  const pending = useResource('admissions:pending', () => api.listAdmissions({ state: 'pending' }), {
    refreshOn: (e) => e.kind === 'node.changed',
    pollMs: PENDING_REFRESH_MS,
  });
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const rows = mayDecide ? (pending.data ?? []) : [];
  if (rows.length === 0) return null;

  const decide = async (a: Admission, how: 'approve' | 'reject') => {
    setBusy(a.id);
    setError(null);
    try {
      await (how === 'approve' ? api.approveAdmission(a.id) : api.rejectAdmission(a.id));
    } catch (e) {
      setError(`${how === 'approve' ? 'Approving' : 'Rejecting'} ${a.hostname || a.externalId} failed: ${(e as Error).message}`);
    } finally {
      setBusy(null);
      pending.reload();
    }
  };

  return (
    <Section title="Waiting to join">
      <p className="hint">Devices without credentials asked to join; approve one to make it a node.</p>
      {error && (
        <div className="form-error" role="alert">
          {error}
        </div>
      )}
      <table className="simple" data-testid="waiting-to-join">
        <thead>
          <tr>
            <th>Protocol</th>
            <th>Device</th>
            <th>Host</th>
            <th>From</th>
            <th>Asked</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((a) => (
            <tr key={a.id} data-admission={a.id}>
              <td>
                <ProtocolBadge protocol={a.protocol} />
              </td>
              <td>
                <code>{a.externalId}</code>
              </td>
              <td>{a.hostname || '—'}</td>
              <td>{a.source}</td>
              <td>{ago(a.seenAt)}</td>
              <td>
                <button type="button" disabled={busy === a.id} onClick={() => void decide(a, 'approve')}>
                  Approve
                </button>{' '}
                <button type="button" className="link danger" disabled={busy === a.id} onClick={() => void decide(a, 'reject')}>
                  Reject
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}
