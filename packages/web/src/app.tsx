import { useCallback, useEffect, useMemo, useState } from 'react';
import { Api } from './api/client.js';
import { EventStream } from './api/events.js';
import { SessionContext, type Session } from './app-context.js';
import { clearToken, loadToken, saveToken, tokenFromNewFragment } from './auth/token-store.js';
import { Layout } from './layout.js';
import { SignIn } from './views/sign-in.js';

export function App() {
  const [token, setToken] = useState<string | null>(() => loadToken());
  const [notice, setNotice] = useState<string | null>(null);

  const signOut = useCallback((reason?: string) => {
    clearToken();
    setToken(null);
    setNotice(reason ?? null);
  }, []);

  const session = useMemo<Session | null>(() => {
    if (!token) return null;
    const api = new Api(token);
    api.onUnauthorized = (e) => signOut(`Signed out: ${e.message}`);
    const events = new EventStream(token, () => signOut('Signed out: the token is no longer accepted.'));
    return { api, events, signOut };
  }, [token, signOut]);

  useEffect(() => {
    const onHash = () => {
      const t = tokenFromNewFragment();
      if (!t) return;
      setNotice(null);
      setToken(t);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (!session) return;
    session.events.start();
    return () => session.events.stop();
  }, [session]);

  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(t) => {
          saveToken(t);
          setNotice(null);
          setToken(t);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Layout />
    </SessionContext.Provider>
  );
}
