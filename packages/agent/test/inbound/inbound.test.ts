import { createHmac } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { REDACTED, Type, type CommandResultMessage } from '@steward/protocol';
import { describeConfig, loadAgentConfig } from '../../src/config.js';
import { Executor } from '../../src/executor.js';
import { resolveApiKey, GENERATED_KEY_FILE } from '../../src/inbound/api-key.js';
import { allowList, checkSignature, sameKey, SIGNATURE_WINDOW_S } from '../../src/inbound/guard.js';
import { Journal } from '../../src/journal.js';
import { createRegistry } from '../../src/modules/registry.js';
import { defineCommand, defineModule } from '../../src/modules/types.js';
import { waitFor } from '../../../../test/support/wait.js';
import { tempDir, testConfig } from '../modules/context.js';

describe('inbound API configuration', () => {
  it('turns on with --listen or inbound.listen, and keys without an address leave it off', async () => {
    const dataDir = await tempDir();
    expect(loadAgentConfig({ dataDir }, {}).inbound).toBeUndefined();
    expect(loadAgentConfig({ dataDir }, { STEWARD_INBOUND_API_KEY: 'k'.repeat(20) }).inbound).toBeUndefined();
    const file = join(dataDir, 'agent.yaml');
    writeFileSync(file, 'inbound:\n  listen: "127.0.0.1:8600"\n  allowFrom: [10.0.0.0/8]\n');
    const c = loadAgentConfig({ dataDir, config: file, listen: '127.0.0.1:8700' }, { STEWARD_INBOUND_API_KEY: 'k'.repeat(20) });
    // The flag wins over the file; the rest of the section and the environment's key stay.
    expect(c.inbound).toEqual({ listen: '127.0.0.1:8700', allowFrom: ['10.0.0.0/8'], apiKey: 'k'.repeat(20) });
    expect(() => loadAgentConfig({ dataDir, listen: 'nohostport' }, {})).toThrow(/inbound\.listen/);
  });

  it('refuses a non-loopback address without a key, naming what to set', async () => {
    const dataDir = await tempDir();
    for (const listen of ['0.0.0.0:8600', '10.1.2.3:8600', '[::]:8600', 'node-1.lan:8600']) {
      expect(() => loadAgentConfig({ dataDir, listen }, {})).toThrow(/not a loopback address\) needs an API key: set inbound\.apiKey/);
    }
    for (const listen of ['127.0.0.1:8600', '127.0.0.2:8600', '[::1]:8600', 'localhost:8600']) {
      expect(loadAgentConfig({ dataDir, listen }, {}).inbound?.listen).toBe(listen);
    }
    expect(loadAgentConfig({ dataDir, listen: '0.0.0.0:8600' }, { STEWARD_INBOUND_API_KEY: 'k'.repeat(20) }).inbound?.apiKey).toBe('k'.repeat(20));
  });

  it('masks the key and the signing secret in --check-config', async () => {
    const dataDir = await tempDir();
    const env = { STEWARD_INBOUND_API_KEY: 'secret-key-0123456789', STEWARD_INBOUND_HMAC_SECRET: 'secret-hmac-0123456789' };
    const shown = JSON.stringify(describeConfig(loadAgentConfig({ dataDir, listen: '0.0.0.0:8600' }, env)));
    expect(shown).not.toContain('secret-key');
    expect(shown).not.toContain('secret-hmac');
    expect(shown).toContain('"listen":"0.0.0.0:8600"');
  });

  it('makes a key once on loopback, kept 0600 in the data dir; a configured one wins', async () => {
    const dataDir = await tempDir();
    const first = resolveApiKey({ listen: '127.0.0.1:1' }, dataDir);
    expect(first.key).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(statSync(join(dataDir, GENERATED_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(resolveApiKey({ listen: '127.0.0.1:1' }, dataDir).key).toBe(first.key);
    expect(resolveApiKey({ listen: '127.0.0.1:1', apiKey: 'k'.repeat(16) }, dataDir).key).toBe('k'.repeat(16));
    const keyFile = join(dataDir, 'key');
    writeFileSync(keyFile, 'short\n');
    expect(() => resolveApiKey({ listen: '127.0.0.1:1', apiKeyFile: keyFile }, dataDir)).toThrow(/at least 16 characters/);
  });
});

describe('inbound API guard', () => {
  it('allows listed addresses and CIDRs only, an IPv4 caller on a dual-stack socket included', () => {
    const allowed = allowList(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'])!;
    expect(['10.200.3.4', '192.168.1.7', '::ffff:10.1.1.1', '2001:db8::5'].map(allowed)).toEqual([true, true, true, true]);
    expect(['11.0.0.1', '192.168.1.8', '::ffff:11.0.0.1', '2001:db9::1', 'garbage'].map(allowed)).toEqual([false, false, false, false, false]);
    expect(allowList(undefined)).toBeNull();
    expect(() => allowList(['10.0.0.0/33'])).toThrow(/inbound\.allowFrom\[0\]/);
    expect(() => allowList(['10.0.0.1', 'example.com'])).toThrow(/inbound\.allowFrom\[1\]: "example.com"/);
  });

  it('compares keys whatever their length', () => {
    expect(sameKey('k'.repeat(20), 'k'.repeat(20))).toBe(true);
    expect(sameKey('k'.repeat(19), 'k'.repeat(20))).toBe(false);
    expect(sameKey(undefined, 'k'.repeat(20))).toBe(false);
  });

  it('checks the signature over timestamp and body, within the window', () => {
    const secret = 's'.repeat(20);
    const body = '{"request_id":"r","type":"sys.ping"}';
    const now = 1_728_069_999_000;
    const sign = (ts: string, b = body) => createHmac('sha256', secret).update(ts + b).digest('hex');
    const ts = String(now / 1000);
    expect(() => checkSignature(secret, ts, sign(ts), body, now)).not.toThrow();
    expect(() => checkSignature(secret, ts, `sha256=${sign(ts).toUpperCase()}`, body, now)).not.toThrow();
    const edge = String(now / 1000 - SIGNATURE_WINDOW_S);
    expect(() => checkSignature(secret, edge, sign(edge), body, now)).not.toThrow();
    const late = String(now / 1000 + SIGNATURE_WINDOW_S + 1);
    expect(() => checkSignature(secret, late, sign(late), body, now)).toThrow(expect.objectContaining({ code: 'stale_timestamp', status: 401 }));
    expect(() => checkSignature(secret, '17e8', sign('17e8'), body, now)).toThrow(expect.objectContaining({ code: 'stale_timestamp' }));
    expect(() => checkSignature(secret, ts, sign(ts, body + ' '), body, now)).toThrow(expect.objectContaining({ code: 'bad_signature' }));
    expect(() => checkSignature(secret, ts, 'é'.repeat(32), body, now)).toThrow(expect.objectContaining({ code: 'bad_signature' }));
    expect(() => checkSignature(secret, undefined, sign(ts), body, now)).toThrow(expect.objectContaining({ code: 'signature_required' }));
  });
});

const runs: Record<string, number> = {};
const countModule = defineModule({
  name: 'test',
  description: 'counts runs',
  commands: [
    defineCommand({
      type: 'test.count',
      description: 'counts its runs; not safe to re-run',
      payload: Type.Object({ key: Type.String(), password: Type.Optional(Type.String({ writeOnly: true })) }, { additionalProperties: false }),
      safeToRerun: false,
      handler: async ({ key }) => ({ runs: (runs[key] = (runs[key] ?? 0) + 1) }),
    }),
  ],
});

describe('inbound commands in the journal', () => {
  const journals: Journal[] = [];
  afterEach(() => {
    for (const j of journals.splice(0)) j.close();
  });

  async function harness(dir?: string) {
    const dataDir = dir ?? (await tempDir());
    const journal = new Journal(dataDir);
    journals.push(journal);
    const started: string[] = [];
    const sent: unknown[] = [];
    const executor = new Executor(journal, createRegistry([countModule]), testConfig(dataDir), pino({ level: 'silent' }), {
      started: (id) => started.push(id),
      finished: (r: CommandResultMessage) => sent.push(journal.outgoing(r)),
      module: () => undefined,
      progress: () => {},
      output: () => {},
      emit: () => {},
    });
    return { dataDir, journal, executor, started, sent };
  }

  const inbound = (requestId: string, key: string) => ({
    requestId,
    requestHash: `h-${requestId}`,
    type: 'test.count',
    payload: { key, password: 'hunter2' },
    timeoutMs: 5000,
  });

  it('runs a request_id once and reports it as command.reported, redacted, outside the listed outbox', async () => {
    const h = await harness();
    const key = `k${Math.random()}`;
    const first = h.executor.submitInbound(inbound('req-1', key));
    expect(first.created).toBe(true);
    const again = h.executor.submitInbound(inbound('req-1', key));
    expect(again).toMatchObject({ created: false, entry: { id: first.entry.id } });
    const done = await h.executor.settled(first.entry.id, 5000);
    expect(done).toMatchObject({ state: 'done', requestId: 'req-1', result: { state: 'succeeded', result: { runs: 1 } } });
    expect(h.executor.submitInbound(inbound('req-1', key)).entry.result?.result).toEqual({ runs: 1 });
    expect(runs[key]).toBe(1);
    // The control plane never hears a `started` for it: it did not dispatch it.
    expect(h.started).toEqual([]);
    const report = {
      type: 'command.reported',
      commandId: first.entry.id,
      command: expect.objectContaining({ type: 'test.count', payload: { key, password: REDACTED }, timeoutMs: 5000, via: 'inbound', requestId: 'req-1' }),
      state: 'succeeded',
      result: { runs: 1 },
    };
    expect(h.sent).toEqual([expect.objectContaining(report)]);
    expect(h.journal.outbox()).toEqual([expect.objectContaining(report)]);
    expect(JSON.stringify(h.journal.outbox())).not.toContain('hunter2');
    // Not listed in hello/heartbeat: the control plane acks ids it does not know, which would drop the report.
    expect(h.journal.outboxIds()).toEqual([]);
    h.journal.ack([first.entry.id]);
    expect(h.journal.outbox()).toEqual([]);
  });

  it('settles an interrupted inbound command by the same re-run rule, and reports it', async () => {
    const h = await harness();
    const key = `k${Math.random()}`;
    // A process that died mid-run: the entry is running, nothing finished it.
    expect(h.journal.beginInbound({ id: 'cmd_in1', type: 'test.count', payload: { key }, timeoutMs: 5000, createdAt: Date.now() }, 'req-9', 'h', Date.now())).toBe(true);
    h.journal.close();
    journals.pop();
    const next = await harness(h.dataDir);
    next.executor.recoverInterrupted();
    await waitFor('the interrupted command to be settled', () => next.journal.get('cmd_in1')?.state === 'done');
    expect(runs[key]).toBeUndefined();
    expect(next.journal.byRequestId('req-9')?.result).toMatchObject({ state: 'failed', error: { code: 'interrupted' } });
    expect(next.sent).toEqual([expect.objectContaining({ type: 'command.reported', commandId: 'cmd_in1', state: 'failed' })]);
  });

  it('adds the new columns to a journal written by an older agent, keeping its rows', async () => {
    const dataDir = await tempDir();
    const old = new Database(join(dataDir, 'journal.db'));
    old.exec(`create table commands (id text primary key, type text not null, payload text not null, timeout_ms integer not null,
      state text not null, received_at integer not null, result text, acked integer not null default 0)`);
    const result: CommandResultMessage = { type: 'command.result', commandId: 'cmd_old', state: 'succeeded', startedAt: 1, finishedAt: 2 };
    old.prepare(`insert into commands values ('cmd_old', 'sys.ping', '{}', 1000, 'done', 1, ?, 0)`).run(JSON.stringify(result));
    old.close();
    const h = await harness(dataDir);
    expect(h.journal.get('cmd_old')).toMatchObject({ origin: 'control', requestId: null });
    expect(h.journal.outbox()).toEqual([result]);
    expect(h.journal.outboxIds()).toEqual(['cmd_old']);
  });
});
