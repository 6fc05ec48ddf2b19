import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { loadAgentConfig, type AgentConfig } from '../../src/config.js';
import type { ModuleRegistry } from '../../src/modules/registry.js';
import { HandlerFailure, type CommandContext, type ModuleInstance } from '../../src/modules/types.js';

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

/** Events a handler emitted through a test context, in order. */
export type Emitted = { event: string; data: unknown }[];

export function testContext(
  config: AgentConfig,
  signal = new AbortController().signal,
  extra: { module?: ModuleInstance; emitted?: Emitted } = {},
): CommandContext {
  return {
    commandId: 'cmd-test',
    signal,
    timeoutMs: 60_000,
    config,
    log: pino({ level: 'silent' }),
    module: extra.module,
    emit: (event, data) => void extra.emitted?.push({ event, data }),
  };
}

/** Validates the payload the way the executor does, then runs the handler. */
export async function run(registry: ModuleRegistry, type: string, payload: unknown, ctx: CommandContext): Promise<any> {
  const def = registry.get(type);
  if (!def) throw new Error(`no command ${type}`);
  return def.handler(registry.validatePayload(type, payload), ctx);
}

/** The HandlerFailure a promise rejects with; fails the test when it resolves or throws anything else. */
export async function failure(p: Promise<unknown>): Promise<HandlerFailure> {
  const outcome = await p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a HandlerFailure, got ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof HandlerFailure)) throw outcome.error;
  return outcome.error;
}
