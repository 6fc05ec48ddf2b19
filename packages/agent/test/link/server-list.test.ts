import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FAILED_PROPOSAL_COOLDOWN_MS, SERVERS_FILE, ServerList, type ProposalOutcome } from '../../src/link/server-list.js';
import { tempDir } from '../modules/context.js';

const log = pino({ level: 'silent' });
const A = 'http://127.0.0.1:7001';
const B = 'http://127.0.0.1:7002';
const C = 'http://127.0.0.1:7003';
const D = 'http://127.0.0.1:7004';

async function list(o: { local?: string[]; pinned?: boolean; dataDir?: string; now?: () => number } = {}) {
  const dataDir = o.dataDir ?? (await tempDir());
  const servers = new ServerList({ dataDir, local: o.local ?? [A, B], pinned: o.pinned ?? false, log, ...(o.now ? { now: o.now } : {}) });
  const outcomes: ProposalOutcome[] = [];
  servers.onOutcome((x) => outcomes.push(x));
  let changes = 0;
  servers.onChange(() => changes++);
  return { servers, outcomes, dataDir, changes: () => changes };
}

const stored = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, SERVERS_FILE), 'utf8')) as { servers: string[] };

describe('ServerList', () => {
  it('walks the list in order, wrapping around, one move per failure', async () => {
    const { servers, changes } = await list({ local: [A + '/', B, A] });
    expect(servers.servers).toEqual([A, B]); // trailing slash off, duplicate dropped
    expect(servers.current).toBe(A);
    servers.failed();
    expect(servers.current).toBe(B);
    servers.failed();
    expect(servers.current).toBe(A);
    expect(changes()).toBe(2);
  });

  it('a proposal is tried and kept, and stored, only once a server of it welcomed the agent', async () => {
    const { servers, outcomes, dataDir, changes } = await list();
    servers.welcomed(A);
    servers.propose([C, D]);
    expect(servers.current).toBe(C);
    expect(servers.servers).toEqual([A, B]);
    expect(servers.trying).toEqual([C, D]);
    expect(changes()).toBe(1);
    expect(existsSync(join(dataDir, SERVERS_FILE))).toBe(false);
    servers.failed(); // C did not answer
    expect(servers.current).toBe(D);
    servers.welcomed(D);
    expect(servers.servers).toEqual([C, D]);
    expect(servers.current).toBe(D);
    expect(servers.trying).toBeNull();
    expect(outcomes).toEqual([{ state: 'committed', servers: [C, D], via: D }]);
    expect(stored(dataDir).servers).toEqual([C, D]);
    expect(statSync(join(dataDir, SERVERS_FILE)).mode & 0o777).toBe(0o600);
  });

  it('a proposal none of whose servers answers in one round goes back to the server the agent was on', async () => {
    const { servers, outcomes, dataDir } = await list();
    servers.failed();
    servers.welcomed(B); // on B, the second of the local list
    servers.propose([C, D]);
    servers.failed();
    expect(servers.current).toBe(D);
    servers.failed();
    expect(servers.trying).toBeNull();
    expect(servers.current).toBe(B);
    expect(servers.servers).toEqual([A, B]);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ state: 'reverted', servers: [A, B], tried: [C, D] });
    expect((outcomes[0] as { reason: string }).reason).toMatch(/no server of the pushed list/);
    expect(existsSync(join(dataDir, SERVERS_FILE))).toBe(false);
  });

  it('the same failed list is not tried again before the cool-down; another list is', async () => {
    let now = 1_000_000;
    const { servers } = await list({ now: () => now });
    servers.welcomed(A);
    servers.propose([C]);
    servers.failed();
    expect(servers.current).toBe(A);
    servers.welcomed(A);
    servers.propose([C]);
    expect(servers.trying).toBeNull();
    servers.propose([D]);
    expect(servers.trying).toEqual([D]);
    servers.failed();
    now += FAILED_PROPOSAL_COOLDOWN_MS + 1;
    servers.welcomed(A);
    servers.propose([C]);
    expect(servers.trying).toEqual([C]);
  });

  it('a proposal holding the server the agent is on is in force at once, without leaving it', async () => {
    const { servers, outcomes, dataDir, changes } = await list();
    servers.welcomed(A);
    servers.propose([C, A]);
    expect(changes()).toBe(0);
    expect(servers.current).toBe(A);
    expect(servers.servers).toEqual([C, A]);
    expect(outcomes).toEqual([{ state: 'committed', servers: [C, A], via: A }]);
    expect(stored(dataDir).servers).toEqual([C, A]);
    // A later failure walks the new list from where the agent is.
    servers.failed();
    expect(servers.current).toBe(C);
  });

  it('proposing the list in force, or the one on trial, changes nothing; the list in force ends a trial', async () => {
    const { servers, changes } = await list();
    servers.welcomed(A);
    servers.propose([A, B]);
    expect(changes()).toBe(0);
    servers.propose([C]);
    servers.propose([C]);
    expect(changes()).toBe(1);
    servers.propose([A, B]);
    expect(servers.trying).toBeNull();
    expect(servers.current).toBe(A);
  });

  it('no pushed list any more brings the local list back, through the same trial', async () => {
    const { servers, dataDir } = await list();
    servers.welcomed(A);
    servers.propose([C]);
    servers.welcomed(C);
    servers.propose(undefined);
    expect(servers.trying).toEqual([A, B]);
    servers.welcomed(A);
    expect(servers.servers).toEqual([A, B]);
    expect(stored(dataDir).servers).toEqual([A, B]);
  });

  it('a welcome from a server the list was just moved off does not commit the trial', async () => {
    const { servers } = await list();
    servers.welcomed(A);
    servers.propose([C]);
    servers.welcomed(A);
    expect(servers.trying).toEqual([C]);
    expect(servers.servers).toEqual([A, B]);
    // Having left A for the trial, the agent is on no server: a list holding A is tried, not taken at once.
    servers.propose([D, A]);
    expect(servers.trying).toEqual([D, A]);
  });

  it('a stored pushed list survives a restart and wins over the local one unless the local one is pinned', async () => {
    const first = await list();
    first.servers.welcomed(A);
    first.servers.propose([C, D]);
    first.servers.welcomed(C);
    const again = await list({ dataDir: first.dataDir });
    expect(again.servers.servers).toEqual([C, D]);
    expect(again.servers.current).toBe(C);
    const pinned = await list({ dataDir: first.dataDir, pinned: true });
    expect(pinned.servers.servers).toEqual([A, B]);
    pinned.servers.propose([D]);
    expect(pinned.servers.trying).toBeNull();
    expect(pinned.outcomes).toMatchObject([{ state: 'ignored', servers: [D] }]);
  });

  it('an unreadable stored list is ignored: the local list is used', async () => {
    const dataDir = await tempDir();
    writeFileSync(join(dataDir, SERVERS_FILE), '{"servers": ["ftp://x"]');
    expect((await list({ dataDir })).servers.servers).toEqual([A, B]);
    writeFileSync(join(dataDir, SERVERS_FILE), JSON.stringify({ servers: ['ftp://x'], savedAt: 1 }));
    expect((await list({ dataDir })).servers.servers).toEqual([A, B]);
  });

  it('a pushed URL the trust policy refuses makes the whole proposal ignored', async () => {
    const { servers, outcomes } = await list();
    servers.setPolicy((url) => {
      if (url.startsWith('http://10.')) throw new Error(`refusing to connect to ${url}: plain http://`);
    });
    servers.propose([C, 'http://10.0.0.1:7070']);
    expect(servers.trying).toBeNull();
    expect(outcomes).toMatchObject([{ state: 'refused', reason: expect.stringMatching(/plain http/) }]);
  });
});
