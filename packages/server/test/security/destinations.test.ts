import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { DestinationPolicy, DestinationRefusedError } from '../../src/security/destinations.js';

describe('outbound destination policy (webhook SSRF)', () => {
  let receiver: Server;
  let port = 0;
  let hits = 0;

  beforeAll(async () => {
    receiver = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    port = (receiver.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

  it('refuses loopback, private, link-local and other special ranges; public unicast passes', () => {
    const p = new DestinationPolicy();
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '0.0.0.0', '100.64.0.1', '224.0.0.1', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
      expect(p.refusal(a), a).toMatch(/is in a \w+ range/);
    }
    for (const a of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111']) expect(p.refusal(a), a).toBeNull();
  });

  it('an allowlist lets an operator reach an internal range, and only that range', () => {
    const p = new DestinationPolicy(['10.1.0.0/16', '127.0.0.1']);
    expect(p.refusal('10.1.9.9')).toBeNull();
    expect(p.refusal('127.0.0.1')).toBeNull();
    expect(p.refusal('::ffff:127.0.0.1')).toBeNull();
    expect(p.refusal('10.2.0.1')).toMatch(/private/);
    expect(p.refusal('127.0.0.2')).toMatch(/loopback/);
    expect(() => new DestinationPolicy(['10.0.0.0/33'])).toThrow(/webhookAllow: "10.0.0.0\/33"/);
  });

  it('URLs with address literals (v4, v6, mapped) and localhost names are refused with a clear code', () => {
    const p = new DestinationPolicy();
    for (const u of ['http://127.0.0.1:9/x', 'http://[::1]/', 'https://169.254.169.254/latest/meta-data', 'http://[::ffff:a00:1]/', 'http://localhost:80/', 'http://api.localhost/']) {
      let err: unknown;
      try {
        p.checkUrl(new URL(u));
      } catch (e) {
        err = e;
      }
      expect(err, u).toBeInstanceOf(DestinationRefusedError);
      expect((err as DestinationRefusedError).code).toBe('destination_refused');
      expect((err as DestinationRefusedError).status).toBe(422);
    }
    expect(() => p.checkUrl(new URL('https://hooks.example.com/x'))).not.toThrow();
  });

  it('a name resolving to a refused address is refused at connect time; nothing reaches the receiver', async () => {
    const refusing = new Agent({ connect: { lookup: new DestinationPolicy().lookup } });
    const allowing = new Agent({ connect: { lookup: new DestinationPolicy(['127.0.0.0/8', '::1']).lookup } });
    try {
      const before = hits;
      // `localhost` resolves to 127.0.0.1 (and maybe ::1): the socket is never opened.
      const err = await request(`http://localhost:${port}/`, { dispatcher: refusing }).catch((e: unknown) => e as Error & { code?: string });
      expect((err as { code?: string }).code).toBe('destination_refused');
      expect((err as Error).message).toMatch(/localhost: .* loopback range/);
      // The positive marker: the same request through an allowing policy arrives, and it is the only one that did.
      const res = await request(`http://localhost:${port}/`, { dispatcher: allowing });
      expect(await res.body.text()).toBe('ok');
      expect(hits).toBe(before + 1);
    } finally {
      await refusing.close();
      await allowing.close();
    }
  });
});
