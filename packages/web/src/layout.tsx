import { useSession } from './app-context.js';
import { StatusBadge } from './components/badges.js';
import { useStreamState } from './hooks/use-events.js';
import { Link, matchPath, useLocation } from './router.js';
import { ROUTES } from './routes.js';
import { NotFoundView } from './views/not-found.js';

export function Layout() {
  const { path } = useLocation();
  const { signOut } = useSession();
  const stream = useStreamState();
  let page = <NotFoundView />;
  for (const r of ROUTES) {
    const params = matchPath(r.path, path);
    if (params) {
      const View = r.view;
      page = <View params={params} key={r.path} />;
      break;
    }
  }
  const active = (p: string) => (p === '/' ? path === '/' : path === p || path.startsWith(`${p}/`));
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="main">
        <div className="brand">Steward</div>
        <ul>
          {ROUTES.filter((r) => r.nav).map((r) => (
            <li key={r.path}>
              <Link to={r.path} className={active(r.path) ? 'active' : undefined} aria-current={active(r.path) ? 'page' : undefined}>
                {r.nav}
              </Link>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <div className="stream" data-testid="stream-state" data-state={stream}>
            <StatusBadge
              status={stream}
              title={stream === 'live' ? 'Live updates are on' : 'Live updates are paused; reconnecting by itself'}
            />
            <span>{stream === 'live' ? 'live updates' : 'reconnecting…'}</span>
          </div>
          <button type="button" className="link" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </nav>
      <main className="content">{page}</main>
    </div>
  );
}
