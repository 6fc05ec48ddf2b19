import { useState } from 'react';
import { useSession } from '../app-context.js';
import { CommandsTable } from '../components/commands-table.js';
import { PageHeader } from '../components/page.js';
import { Empty, Resolved } from '../components/states.js';
import { useNodeNames } from '../hooks/use-node-names.js';
import { useResource } from '../hooks/use-resource.js';

const STATES = ['awaiting_approval', 'pending', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'expired'];

export function CommandsView() {
  const { api } = useSession();
  const [state, setState] = useState('');
  const [type, setType] = useState('');
  const names = useNodeNames();
  const commands = useResource(`commands:${state}:${type}`, () => api.commands({ state: state || undefined, type: type || undefined, limit: 1000 }), {
    refreshOn: (e) => e.kind === 'command.state',
    throttleMs: 1000,
  });
  return (
    <>
      <PageHeader title="Commands" subtitle="The latest 1,000; each row opens its result." />
      <div className="filters">
        <select aria-label="state" value={state} onChange={(e) => setState(e.target.value)}>
          <option value="">any state</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s.replace('_', ' ')}
            </option>
          ))}
        </select>
        <input aria-label="type" placeholder="type, e.g. exec.run" value={type} onChange={(e) => setType(e.target.value.trim())} />
      </div>
      <Resolved {...commands} isEmpty={(d) => d.length === 0} empty={<Empty title="No commands match">Run one from a node's page.</Empty>}>
        {(cs) => <CommandsTable commands={cs} nodeNames={names} />}
      </Resolved>
    </>
  );
}
