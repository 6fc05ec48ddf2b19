/**
 * Fallback when the `steward` CLI is not usable: starts a control plane or an agent in-process.
 *   node --import tsx bench/launcher.ts server --data-dir D [--listen 127.0.0.1:0]
 *   node --import tsx bench/launcher.ts agent --server URL --enroll-token T --data-dir D --name N
 * Selected with `npm run bench -- --launcher direct`.
 */
import { parseArgs } from 'node:util';

const [mode, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    listen: { type: 'string' },
    'data-dir': { type: 'string' },
    'log-level': { type: 'string' },
    server: { type: 'string' },
    'enroll-token': { type: 'string' },
    name: { type: 'string' },
  },
});

let stop: () => Promise<void>;
if (mode === 'server') {
  const { startServer } = await import('@steward/server');
  const server = await startServer({ listen: values.listen ?? '127.0.0.1:0', dataDir: values['data-dir'], logLevel: values['log-level'] ?? 'warn' });
  console.log(`Steward API listening on ${server.url}`);
  stop = () => server.close();
} else if (mode === 'agent') {
  const { loadAgentConfig, startAgent } = await import('@steward/agent');
  const config = loadAgentConfig({
    server: values.server,
    enrollToken: values['enroll-token'],
    dataDir: values['data-dir'],
    name: values.name,
    logLevel: values['log-level'] ?? 'warn',
  });
  const agent = await startAgent(config);
  console.log(`agent running as node ${agent.nodeId}`);
  stop = () => agent.stop();
} else {
  console.error('usage: launcher.ts server|agent [flags]');
  process.exit(2);
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(1);
    stopping = true;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
