import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { loadAgentConfig, type AgentConfig } from '../../src/config.js';
import type { ModuleRegistry } from '../../src/modules/registry.js';
import { AgentError } from '../../src/core/errors.js';
import { ServerLink } from '../../src/link/server-link.js';
import type { HandlerFailure, CommandContext, ModuleInstance } from '../../src/modules/types.js';
import type { ProgressReport } from '../../src/core/progress.js';
import type { SessionChannel } from '../../src/core/session-input.js';

const made: string[] = [];

/** A fresh directory under the OS temp dir, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(os.tmpdir(), 'steward-agent-test-'));
  made.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

export function testConfig(dataDir: string, edit: (c: AgentConfig) => void = () => {}): AgentConfig {
  const config = loadAgentConfig({ dataDir, server: 'http://127.0.0.1:1' }, {});
  edit(config);
  return config;
}

/** A link as an enrolled node has it, to `server`; without a credential every call fails `not_enrolled`. */
export function testLink(server = 'http://127.0.0.1:1', credential: string | null = null): ServerLink {
  return new ServerLink(server, credential === null ? null : { nodeId: 'node_test', name: 'test-node', credential, server, enrolledAt: 0 });
}

/** What a handler wrote to `ctx.output` through a test context, in order. */
export type Written = { stream: string; data: string }[];

/** Events a handler emitted through a test context, in order. */
export type Emitted = { event: string; data: unknown }[];

export function testContext(
  config: AgentConfig,
  signal = new AbortController().signal,
  extra: { module?: ModuleInstance; emitted?: Emitted; progress?: ProgressReport[]; output?: Written; session?: SessionChannel } = {},
): CommandContext {
  return {
    commandId: 'cmd-test',
    signal,
    timeoutMs: 60_000,
    config,
    log: pino({ level: 'silent' }),
    module: extra.module,
    link: testLink(),
    emit: (event, data) => void extra.emitted?.push({ event, data }),
    // Unthrottled: a test sees every report the handler made.
    progress: (p) => void extra.progress?.push(p),
    session: extra.session ?? { attach: () => {} },
    welcomed: () => Promise.resolve(),
    output: { write: (stream, data) => void extra.output?.push({ stream, data: data.toString() }) },
  };
}

/** Validates the payload the way the executor does, then runs the handler. */
export async function run(registry: ModuleRegistry, type: string, payload: unknown, ctx: CommandContext): Promise<any> {
  const def = registry.get(type);
  if (!def) throw new Error(`no command ${type}`);
  return def.handler(registry.validatePayload(type, payload), ctx);
}

/** The agent error (usually a HandlerFailure) a promise rejects with; fails the test when it resolves or throws anything else. */
export async function failure(p: Promise<unknown>): Promise<AgentError & Partial<Pick<HandlerFailure, 'result' | 'state'>>> {
  const outcome = await p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a HandlerFailure, got ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof AgentError)) throw outcome.error;
  return outcome.error;
}
