import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ENROLL_PATH, isTerminalCommandState, type Inventory } from '@steward/protocol';
import { StewardClient } from '@steward/client';
import { NginxInstance } from '../support/nginx-instance.js';
import { PureFtpdInstance } from '../support/pure-ftpd-instance.js';
import { startAgentProcess, startServerProcess, tempDir, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 12's secrets audit: every secret-bearing command runs once with a planted, unique secret,
 * then every store table, the control plane's log, an event stream read during the run, the CSV
 * listings, /metrics and the API's own answers are searched for each one. The agent needs the
 * clear values to work; its own journal on the node is out of scope (docs/security.md).
 */

const plant = (what: string) => `AUDIT${what}${randomBytes(9).toString('hex')}`;
const S = {
  ftpPassword: plant('ftppw'),
  keyPem: plant('keypem'),
  execEnv: plant('execenv'),
  execInput: plant('execinput'),
  fsContent: plant('fscontent'),
  taskEnv: plant('taskenv'),
  serviceEnv: plant('serviceenv'),
};


let server: ServerProc;
let agent: AgentProc;
let events = '';
const stopEvents = new AbortController();

beforeAll(async () => {
  const dir = tempDir('steward-audit-');
  const nginx = new NginxInstance(join(dir, 'nginx'));
  const ftpd = new PureFtpdInstance(join(dir, 'ftpd'));
  mkdirSync(ftpd.dir, { recursive: true });
  mkdirSync(join(dir, 'ftp'), { recursive: true });
  server = await startServerProcess();
  // The event stream, read from before the first command to after the last.
  const sse = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${server.token}`, accept: 'text/event-stream' }, signal: stopEvents.signal });
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of sse.body as unknown as AsyncIterable<Uint8Array>) events += decoder.decode(chunk, { stream: true });
    } catch {
      // aborted at the end
    }
  })();
  const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600 });
  agent = startAgentProcess({
    server: server.url,
    token,
    name: 'audit',
    config: `modules: [sys, exec, fs, nginx, ftp, task, service]\n${nginx.agentYaml()}${ftpd.agentYaml(join(dir, 'ftp'))}`,
  });
  mkdirSync(join(agent.dataDir, 'files'), { recursive: true });
  await waitOnline(server, 'audit', agent);
}, 120_000);

afterAll(async () => {
  stopEvents.abort();
  await Promise.allSettled([agent?.kill(), server?.kill()]);
});

async function ended(id: string): Promise<void> {
  await waitFor(`command ${id} to end`, async () => isTerminalCommandState((await server.client.getCommand(id, { wait: 10 })).state), { timeoutMs: 60_000 });
}

describe('secrets audit', { timeout: 240_000 }, () => {
  it('after every secret-bearing command ran, no planted secret is in the store, log, events, CSV, metrics or API answers', async () => {
    const c = server.client;
    const ids: string[] = [];
    const run = async (type: string, payload: Record<string, unknown>, requestId?: string) => {
      const { command } = await c.submitCommand({ node: 'audit', type, payload, ...(requestId ? { requestId } : {}) });
      ids.push(command.id);
      await ended(command.id);
    };

    await run('ftp.user.apply', { username: 'audit', password: S.ftpPassword, home: join(tempDir('steward-audit-home-'), 'audit') }, 'audit-ftp');
    // A script that prints its secret env value and its stdin: the stored result must not keep them.
    await run('exec.run', { command: '/bin/sh', args: ['-c', 'echo "$AUDIT_VALUE"; cat'], env: { AUDIT_VALUE: S.execEnv }, input: S.execInput }, 'audit-exec');
    await run('fs.write', { path: join(agent.dataDir, 'files', 'audit.conf'), content: S.fsContent });
    const exec = await c.getCommand(ids[1]!);
    expect(exec.state).toBe('succeeded');
    expect((exec.result as { stdout: string }).stdout).toBe('[redacted]\n[redacted]');

    // nginx with a private key, as a job (the job keeps a payload of its own).
    const job = await c.createJob({
      target: { nodes: ['audit'] },
      type: 'nginx.site.apply',
      requestId: 'audit-nginx',
      payload: {
        name: 'audit',
        serverNames: ['audit.test'],
        listen: { port: 8443, ssl: true, address: '127.0.0.1' },
        tls: { certPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', keyPem: `-----BEGIN PRIVATE KEY-----\n${S.keyPem}\n-----END PRIVATE KEY-----\n` },
      },
    });
    await waitFor('the nginx job to end', async () => (await c.getJob(job.id, { wait: 10 })).state !== 'running', { timeoutMs: 60_000 });

    const task = await c.submitTask({ kind: 'exec', payload: { command: '/bin/sh', args: ['-c', 'test -n "$AUDIT_TASK"'], env: { AUDIT_TASK: S.taskEnv } }, requestId: 'audit-task' });
    await waitFor('the task to end', async () => ['succeeded', 'failed', 'cancelled'].includes((await c.getTask(task.task.id, { wait: 10 })).state), { timeoutMs: 90_000 });

    const bundle = Buffer.from('#!/bin/sh\nsleep 600\n');
    const artifact = await c.putArtifact(Readable.from([bundle]), { name: 'audit-svc' });
    await c.putService('audit-svc', {
      version: '1.0.0',
      artifact: { artifactSha256: artifact.artifact.sha256, sha256: artifact.artifact.sha256 },
      command: '/bin/sh',
      // Runs only if the node got the env value opened (not the sealed `sbx1:` text the store keeps).
      args: ['-c', 'case "$AUDIT_SERVICE" in ""|sbx1:*) exit 3;; esac; exec sleep 600'],
      env: { AUDIT_SERVICE: S.serviceEnv },
      target: { nodes: ['audit'] },
    });
    const apply = await waitFor('the service.apply command', async () => (await c.listCommands({ type: 'service.apply' })).items[0], { timeoutMs: 60_000 });
    await ended(apply.id);
    ids.push(apply.id);
    await waitFor('the service running with its env', async () => (await c.getService('audit-svc')).nodes.some((n) => n.state === 'running'), { timeoutMs: 60_000 });

    // A plugin type to a node that never said hello: refused, nothing kept.
    const { token: enrollToken } = await c.createEnrollmentToken({});
    const fresh = (await (await fetch(server.url + AGENT_ENROLL_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: enrollToken, name: 'no-catalog' }) })).json()) as { nodeId: string };
    await expect(c.submitCommand({ node: fresh.nodeId, type: 'acme.vault.put', payload: { secret: plant('unknown') } })).rejects.toMatchObject({ status: 409, code: 'node_catalog_unknown' });

    // ---- collect ----
    const get = async (path: string, token = server.token) => (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).text();
    const { token: readerToken } = await c.createToken({ name: 'audit-reader', role: 'reader' });
    const outputs: Record<string, string> = {};
    for (const path of ['/api/v1/commands?format=csv', '/api/v1/jobs?format=csv', '/api/v1/tasks?format=csv', '/api/v1/commands?limit=500', '/api/v1/jobs', '/api/v1/tasks', '/api/v1/services', '/metrics']) {
      outputs[path] = await get(path);
    }
    for (const id of ids) {
      outputs[`/api/v1/commands/${id}`] = await get(`/api/v1/commands/${id}`);
      outputs[`/api/v1/commands/${id} (reader)`] = await get(`/api/v1/commands/${id}`, readerToken);
    }
    outputs[`job`] = await get(`/api/v1/jobs/${job.id}`);
    outputs[`task`] = await get(`/api/v1/tasks/${task.task.id}`);
    outputs['control plane log'] = server.output();
    await waitFor('the event stream to carry the last command', () => events.includes(apply.id), { timeoutMs: 10_000 });
    outputs['event stream'] = events;

    const db = new Database(join(server.dataDir, 'steward.db'), { readonly: true });
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    const dump: Record<string, string> = {};
    for (const t of tables) dump[t] = JSON.stringify(db.prepare(`SELECT * FROM "${t}"`).all());
    db.close();
    expect(tables).toEqual(expect.arrayContaining(['commands', 'jobs', 'tasks', 'task_output', 'services', 'meta']));

    // ---- search ----
    const found: string[] = [];
    for (const [name, secret] of Object.entries(S)) {
      for (const [where, text] of Object.entries(outputs)) if (text.includes(secret)) found.push(`${name} in ${where}`);
      for (const [table, text] of Object.entries(dump)) {
        if (text.includes(secret)) found.push(`${name} in table ${table}`);
      }
    }
    expect(found).toEqual([]);
    // A service's env must be kept to send again (to a node it reaches later): it is, sealed
    // under the data dir's secrets.key (security/secret-box.ts), never in clear.
    expect(dump.services).toContain('sbx1:');
    await c.deleteService('audit-svc');
    // The audit looked where the secrets went: the redacted markers are there.
    expect(outputs[`/api/v1/commands/${ids[0]}`]).toContain('[redacted]');
    expect(outputs.job).toContain('[redacted]');
    expect(outputs.task).toContain('[redacted]');
  });
});
