import { useState } from 'react';
import { useSession } from '../app-context.js';
import { useRole } from '../hooks/use-role.js';

/**
 * Approve / Reject for a command or a job awaiting a second operator. The server decides who
 * may (not the submitter's own token); its refusal is shown as it said it. Readers see nothing.
 */
export function ApprovalActions({ kind, id, onDone }: { kind: 'commands' | 'jobs'; id: string; onDone(): void }) {
  const { api } = useSession();
  const role = useRole();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (role !== 'admin' && role !== 'operator') return null;
  const decide = (decision: 'approve' | 'reject') => {
    const reason = decision === 'reject' ? window.prompt('Reason for rejecting (optional)') : null;
    if (reason === null && decision === 'reject') return;
    setBusy(true);
    setError(null);
    const body = decision === 'reject' ? (reason ? { reason } : {}) : undefined;
    api.post(`/api/v1/${kind}/${encodeURIComponent(id)}/${decision}`, body).then(
      () => {
        setBusy(false);
        onDone();
      },
      (err: Error) => {
        setBusy(false);
        setError(err.message);
      },
    );
  };
  return (
    <span className="approval-actions">
      {error && <span className="form-error">{error}</span>}
      <button type="button" disabled={busy} onClick={() => decide('approve')}>
        Approve
      </button>
      <button type="button" disabled={busy} onClick={() => decide('reject')}>
        Reject
      </button>
    </span>
  );
}
