import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmdirSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import type { ServiceRunSpec } from '@steward/protocol';

/** Packs files (name → content; executable) into a tar.gz and returns its bytes. */
export async function packTarGz(files: Record<string, string>): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-svc-pack-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(dir, name), content);
      chmodSync(join(dir, name), 0o755);
    }
    const out = join(dir, '..', `${randomBytes(6).toString('hex')}.tar.gz`);
    await tar.c({ gzip: true, file: out, cwd: dir }, Object.keys(files));
    const bytes = readFileSync(out);
    rmSync(out, { force: true });
    return bytes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An HTTP server serving artifacts from memory; `put` returns the URL. */
export class ArtifactServer {
  private readonly files = new Map<string, Buffer>();
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const body = this.files.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  put(name: string, body: Buffer): string {
    this.files.set(`/${name}`, body);
    return `${this.url}/${name}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/**
 * A node script that listens on PORT and answers each connection with its VERSION. It ignores
 * socket errors: a TCP health check connects and resets at once, which must not crash it.
 */
export const TCP_SERVICE = `#!/usr/bin/env node
const net = require('node:net');
const port = Number(process.env.PORT);
net.createServer((s) => { s.on('error', () => {}); s.end((process.env.VERSION || 'v?') + '\\n'); }).listen(port, '127.0.0.1', () => console.log('listening on', port));
process.on('SIGTERM', () => process.exit(0));
`;

/** Answers 200 on /health unless the file `sick` is in its working dir; removes it at start (a restart heals it). */
export const HTTP_SERVICE = `#!/usr/bin/env node
const fs = require('node:fs');
fs.rmSync('sick', { force: true });
require('node:http').createServer((req, res) => { res.statusCode = fs.existsSync('sick') ? 500 : 200; res.end(String(process.pid)); })
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

export const CRASHER = `#!/bin/sh
echo "crashing at $(date +%s%N)"
sleep 0.05
exit 3
`;

/** Allocates memory in 8 MiB steps until something stops it. */
export const HOG = `#!/usr/bin/env node
const keep = [];
console.log('hogging');
setInterval(() => { keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); }, 20);
`;

export const SLEEPER = `#!/bin/sh
echo "up $$"
exec sleep 1000
`;

export function spec(name: string, version: string, url: string, bytes: Buffer, extra: Partial<ServiceRunSpec> = {}): ServiceRunSpec {
  return {
    name,
    version,
    artifact: { url, sha256: sha256(bytes) },
    command: './run',
    ...extra,
  };
}

/** Services outlive their agent by design; kills (SIGKILL, whole group) whatever an agent's state file says still runs. */
export function killServices(agentDataDir: string): void {
  try {
    const state = JSON.parse(readFileSync(join(agentDataDir, 'modules', 'service', 'state.json'), 'utf8')) as { services: { pid: number | null }[] };
    for (const s of state.services) {
      if (s.pid) {
        try {
          process.kill(-s.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  } catch {
    /* no state file */
  }
}

/** Removes a test's cgroup parent and the (empty) service cgroups under it, in each v1 controller. */
export function removeTestCgroups(parent: string): void {
  for (const c of ['memory', 'cpu', 'pids']) {
    const dir = `/sys/fs/cgroup/${c}/${parent}`;
    let children: string[] = [];
    try {
      children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      continue;
    }
    for (const child of [...children.map((n) => `${dir}/${n}`), dir]) {
      try {
        rmdirSync(child);
      } catch {
        /* still has processes */
      }
    }
  }
}
