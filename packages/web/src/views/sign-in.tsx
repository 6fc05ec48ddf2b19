import { useState, type FormEvent } from 'react';
import { Api, ApiError } from '../api/client.js';

/** Sign-in with an operator token; the token is checked against the API before it is kept. */
export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn(token: string): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return setError('Paste an operator token first.');
    setBusy(true);
    setError(null);
    try {
      await new Api(t).get('/api/v1/nodes', { limit: 1 });
      onSignedIn(t);
    } catch (err) {
      const e2 = err as ApiError;
      setError(
        e2.status === 401
          ? `That token was refused (${e2.message}). Check it and try again.`
          : e2.message || 'Could not sign in.',
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="sign-in">
      <form onSubmit={(e) => void submit(e)} className="card">
        <h1>Steward</h1>
        <p className="muted">Sign in with an operator token.</p>
        {notice && <div className="banner banner-warn">{notice}</div>}
        <label htmlFor="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoFocus
        />
        {error && (
          <div className="form-error" role="alert" data-testid="sign-in-error">
            {error}
          </div>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p className="hint">
          On the control plane's machine the admin token is in <code>~/.steward/server/admin.token</code>; <code>npm start</code> also
          prints a link that signs you in. Create others with <code>steward tokens create NAME --role reader</code>. The token is
          kept for this browser tab only.
        </p>
      </form>
    </div>
  );
}
