import { useSession } from '../../app-context.js';
import { StatusBadge } from '../../components/badges.js';
import { Facts } from '../../components/page.js';
import { Resolved } from '../../components/states.js';
import { ago } from '../../format.js';
import { useResource } from '../../hooks/use-resource.js';
import { Link } from '../../router.js';

/** The node's effective pushed config, which document gave each key, and what its agent did with it. */
export function NodeConfig({ nodeId }: { nodeId: string }) {
  const { api } = useSession();
  const view = useResource(`node-config:${nodeId}`, () => api.nodeConfig(nodeId), {
    refreshOn: (e) => (e.kind === 'node.config' && e.nodeId === nodeId) || e.kind === 'agent-config.changed',
    throttleMs: 300,
  });
  return (
    <Resolved {...view}>
      {(v) => {
        const a = v.applied;
        const keys = Object.keys(v.sources).sort();
        return (
          <div data-testid="node-config">
            <Facts
              items={[
                ['Revision', <code key="r">{v.revision}</code>],
                ['Documents', v.documents.length ? v.documents.join(' < ') : <span key="d" className="muted">none: the agent runs its local config</span>],
                [
                  'Agent',
                  a ? (
                    <span key="a" data-testid="node-config-state">
                      <StatusBadge status={a.state} /> <code>{a.revision}</code> {ago(a.at)}
                      {v.inSync ? ' (current)' : a.state === 'applied' ? ' (an older revision)' : ''}
                    </span>
                  ) : (
                    'no answer yet'
                  ),
                ],
              ]}
            />
            {a?.state === 'rejected' && (
              <div className="form-error" role="alert" data-testid="node-config-rejected">
                Rejected: {a.reason ?? 'no reason given'}; the agent keeps its previous config.
                {a.issues?.length ? (
                  <ul>
                    {a.issues.map((i) => (
                      <li key={i.field}>
                        <code>{i.field}</code>: {i.rule}
                      </li>
                    ))}
                  </ul>
                ) : null}
              </div>
            )}
            {keys.length > 0 && (
              <table className="config-sources">
                <thead>
                  <tr>
                    <th>Key</th>
                    <th>Value</th>
                    <th>From</th>
                  </tr>
                </thead>
                <tbody>
                  {keys.map((k) => (
                    <tr key={k}>
                      <td>
                        <code>{k}</code>
                      </td>
                      <td>
                        <code>{JSON.stringify(valueAt(v.config, k))}</code>
                      </td>
                      <td>
                        <Link to="/config">{v.sources[k]}</Link>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        );
      }}
    </Resolved>
  );
}

function valueAt(config: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), config);
}
