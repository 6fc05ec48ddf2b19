import { useState, type FormEvent } from 'react';
import { useSession } from '../app-context.js';
import type { ConfigDocument, ConfigDocumentPut } from '../api/types.js';
import { DataTable, type Column } from '../components/data-table.js';
import { PageHeader, Section } from '../components/page.js';
import { Empty, Resolved } from '../components/states.js';
import { ago, time } from '../format.js';
import { useResource } from '../hooks/use-resource.js';
import { useRole } from '../hooks/use-role.js';

const NEW_DOCUMENT: ConfigDocumentPut = { target: { all: true }, priority: 0, config: {} };

function targetText(d: ConfigDocument): string {
  const t = d.target;
  if ('all' in t) return 'all nodes';
  if ('selector' in t) return t.selector;
  return t.nodes.join(', ');
}

/** What the API said, with the fields it named (a 400 lists them). */
function errorText(err: unknown): string {
  const e = err as Error & { details?: { issues?: { field: string; rule: string }[] } };
  const issues = (e.details?.issues ?? []).filter((i) => !e.message.includes(i.field));
  return issues.length ? `${e.message} (${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')})` : e.message;
}

/** Desired agent configuration documents: merged by priority per node and pushed to the agents live. */
export function ConfigView() {
  const { api } = useSession();
  const role = useRole();
  const canWrite = role !== undefined && role !== 'reader';
  const docs = useResource('agent-config', api.agentConfigs, { refreshOn: (e) => e.kind === 'agent-config.changed', throttleMs: 300 });
  const [name, setName] = useState('');
  const [text, setText] = useState('');
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const edit = (d: ConfigDocument | null) => {
    setEditing(true);
    setError(null);
    setSaved(null);
    setName(d?.name ?? '');
    setText(JSON.stringify(d ? { target: d.target, priority: d.priority, config: d.config } : NEW_DOCUMENT, null, 2));
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(null);
    let body: ConfigDocumentPut;
    try {
      body = JSON.parse(text) as ConfigDocumentPut;
    } catch (err) {
      return setError(`Not valid JSON: ${(err as Error).message}`);
    }
    if (!name.trim()) return setError('Name: give the document a name (base, web, eu-west…)');
    setBusy(true);
    try {
      const doc = await api.putAgentConfig(name.trim(), body);
      setSaved(`Saved ${doc.name}, version ${doc.version}. Nodes it targets get their new config now.`);
      docs.reload();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = (d: ConfigDocument) => {
    if (!window.confirm(`Delete config document ${d.name}? Its nodes get their config without it.`)) return;
    void api.deleteAgentConfig(d.name).then(docs.reload, (err: unknown) => setError(errorText(err)));
  };

  const columns: Column<ConfigDocument>[] = [
    { key: 'name', header: 'Name', width: 'minmax(100px, 1fr)', render: (d) => <code>{d.name}</code>, sortValue: (d) => d.name },
    { key: 'priority', header: 'Priority', width: '80px', render: (d) => String(d.priority), sortValue: (d) => d.priority },
    { key: 'target', header: 'Target', width: 'minmax(120px, 1fr)', render: (d) => targetText(d) },
    { key: 'keys', header: 'Keys', width: 'minmax(140px, 2fr)', render: (d) => Object.keys(d.config).sort().join(', ') || '—' },
    { key: 'version', header: 'Version', width: '70px', render: (d) => String(d.version) },
    { key: 'updated', header: 'Updated', width: '150px', render: (d) => <span title={time(d.updatedAt)}>{ago(d.updatedAt)} by {d.updatedBy}</span>, sortValue: (d) => d.updatedAt },
    {
      key: 'actions',
      header: '',
      width: '130px',
      render: (d) => (
        <>
          <button type="button" className="link" onClick={() => edit(d)} aria-label={`edit ${d.name}`}>
            {canWrite ? 'Edit' : 'View'}
          </button>{' '}
          {canWrite && (
            <button type="button" className="link danger" onClick={() => remove(d)} aria-label={`delete ${d.name}`}>
              Delete
            </button>
          )}
        </>
      ),
    },
  ];

  return (
    <>
      <PageHeader
        title="Config"
        subtitle="Desired agent configuration. Documents that target a node are merged by priority (higher wins) into its effective config, which its agent applies live; each node's page shows the result."
        actions={
          canWrite ? (
            <button type="button" onClick={() => edit(null)}>
              New document
            </button>
          ) : undefined
        }
      />
      {editing && (
        <Section title={name ? `Document ${name}` : 'New document'}>
          <form onSubmit={(e) => void save(e)} data-testid="config-editor">
            <div className="form-grid">
              <label>
                Name
                <input aria-label="document name" value={name} onChange={(e) => setName(e.target.value)} placeholder="base" readOnly={!canWrite} />
              </label>
            </div>
            <label className="hint" htmlFor="config-json">
              JSON: <code>{'{"target": {"all": true} | {"selector": "role=web"} | {"nodes": ["web-1"]}, "priority": 0, "config": {…}}'}</code>
            </label>
            <textarea
              id="config-json"
              aria-label="document JSON"
              className="config-text"
              rows={14}
              spellCheck={false}
              value={text}
              onChange={(e) => setText(e.target.value)}
              readOnly={!canWrite}
            />
            <div>
              {canWrite && (
                <button type="submit" disabled={busy}>
                  {busy ? 'Saving…' : 'Save'}
                </button>
              )}{' '}
              <button type="button" className="link" onClick={() => setEditing(false)}>
                Close
              </button>
            </div>
          </form>
          {error && (
            <div className="form-error" role="alert">
              {error}
            </div>
          )}
          {saved && <p className="hint" role="status">{saved}</p>}
        </Section>
      )}
      <Section title="Documents (merge order)">
        <Resolved
          {...docs}
          isEmpty={(d) => d.length === 0}
          empty={
            <Empty title="No config documents">
              Nodes run with their local configuration. Add one here or with <code>steward config apply base --file base.yaml</code>.
            </Empty>
          }
        >
          {(rows) => <DataTable label="config documents" rows={rows} columns={columns} rowKey={(d) => d.name} maxHeight="420px" />}
        </Resolved>
      </Section>
    </>
  );
}
