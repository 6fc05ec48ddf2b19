import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StewardClient } from '@steward/client';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeNames } from '../src/node-names.js';

/** A control plane stand-in for GET /api/v1/nodes: `csv` answers ?format=csv (or refuses it), the JSON listing is always there. */
async function listing(csv: string | null): Promise<{ client: StewardClient; asked: string[]; server: Server }> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const format = url.searchParams.get('format') ?? 'json';
    asked.push(format);
    if (format === 'csv' && csv !== null) return void res.writeHead(200, { 'content-type': 'text/csv' }).end(csv);
    if (format === 'csv') return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'validation_failed', message: 'format' } }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [{ id: 'node_a', name: 'web-1' }, { id: 'node_b', name: 'db-1' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { client: new StewardClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't' }), asked, server };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

describe('NodeNames', () => {
  it('reads the names from the CSV listing, not the JSON one with every node\'s command catalog', async () => {
    // Fields after the name may be quoted and hold commas and line breaks.
    const csv = 'id,name,status,labels,hostname\r\nnode_a,web-1,online,"env=prod,role=web","a\r\nb"\r\nnode_b,db-1,offline,,db\r\n';
    const { client, asked } = await listing(csv);
    const names = new NodeNames(client);
    expect(await names.name('node_a')).toBe('web-1');
    expect(await names.name('node_b')).toBe('db-1');
    expect(asked).toEqual(['csv']);
  });

  it('falls back to the JSON listing when the CSV one is refused', async () => {
    const { client, asked } = await listing(null);
    expect(await new NodeNames(client).name('node_b')).toBe('db-1');
    expect(asked).toEqual(['csv', 'json']);
  });
});
