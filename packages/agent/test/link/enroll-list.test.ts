import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_ENROLL_PATH, type EnrollRequest } from '@steward/protocol';
import { enrollFirst, EnrollmentError } from '../../src/enroll.js';
import { freePort } from '../../../../test/support/processes.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** A loopback endpoint answering enrollment with `status` and `body`, counting the requests it got. */
async function endpoint(status: number, body: unknown): Promise<{ url: string; asked: () => number }> {
  let asked = 0;
  const s = createServer((req, res) => {
    if (req.url === AGENT_ENROLL_PATH) asked++;
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  servers.push(s);
  return { url: `http://127.0.0.1:${(s.address() as { port: number }).port}`, asked: () => asked };
}


const body = { token: 'enr_x.y', labels: {} } as unknown as EnrollRequest;
const accepted = { nodeId: 'node_1', name: 'n', credential: 'c' };

describe('enrollment over a server list', () => {
  it('skips a server that cannot be reached and enrolls with the next', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const ok = await endpoint(201, accepted);
    const { server, res } = await enrollFirst([dead, ok.url], body);
    expect(server).toBe(ok.url);
    expect(res.nodeId).toBe('node_1');
  });

  it('stops at a refusal: every replica would say the same', async () => {
    const refusing = await endpoint(401, { error: { code: 'token_invalid', message: 'bad token' } });
    const ok = await endpoint(201, accepted);
    await expect(enrollFirst([refusing.url, ok.url], body)).rejects.toMatchObject({ code: 'token_invalid', permanent: true });
    expect(refusing.asked()).toBe(1);
    expect(ok.asked()).toBe(0);
  });

  it('none reachable: the last failure, which a later start may retry', async () => {
    const err = await enrollFirst([`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`], body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnrollmentError);
    expect(err).toMatchObject({ code: 'connection_failed', permanent: false });
  });
});
