import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, type HelloMessage, type OutputChunk } from '@steward/protocol';
import { Link } from '../../src/agents/link.js';
import { MemoryTransport, type MemoryAgentEnd } from '../../src/agents/transports/memory.js';
import { CatalogCache } from '../../src/commands/catalogs.js';
import { PayloadChecker } from '../../src/commands/payload-check.js';
import { CommandService } from '../../src/commands/service.js';
import type { Context } from '../../src/core/context.js';
import { makeCredential } from '../../src/security/secrets.js';
import { CommandSigner } from '../../src/security/signing-key.js';
import { getOutputState, outputAfter, outputOfCommandsAfter } from '../../src/store/queries/command-output.js';
import { insertNode } from '../../src/store/queries/nodes.js';
import { EMPTY_INVENTORY } from '../../src/store/rows.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { testContext } from '../helpers/context.js';
import { nodeRow, T0 } from '../helpers/rows.js';

/**
 * `command.output` through the real link (memory transport: the test plays the agent) into a
 * real store: stored once each in seq order, acknowledged only once stored, capped, and refused
 * (storing nothing) when it is not this node's command or its seqs do not follow on.
 */

const inventory: HelloMessage['inventory'] = { ...EMPTY_INVENTORY, hostname: 'mem-1', commandTypes: [{ type: 'exec.run', module: 'exec', safeToRerun: false }] };
const hello: HelloMessage = { type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory, running: [], outbox: [] };

const chunk = (seq: number, data: string, stream: OutputChunk['stream'] = 'stdout'): OutputChunk => ({ seq, stream, data, at: T0 + seq });

describe.each(storeTargets())('command output on $name', (target) => {
  const fresh = useFreshStore(target);
  let ctx: Context;
  let link: Link;
  let commands: CommandService;
  let memory: MemoryTransport;

  beforeEach(async () => {
    ctx = testContext(fresh.store, { now: T0 + 3_600_000 });
    ctx.settings.limits.commandOutputBytes = 40;
    memory = new MemoryTransport();
    link = new Link(ctx, 'replica-test', CommandSigner.ephemeral()).use(memory);
    commands = new CommandService(ctx, link, new PayloadChecker(), new CatalogCache());
    link.receive(commands);
    await link.install(null);
  });

  afterEach(async () => {
    await link.close();
  });

  /** A node, connected, with one running command of its own. */
  async function agentWithCommand(): Promise<{ end: MemoryAgentEnd; nodeId: string; commandId: string }> {
    const row = nodeRow({ status: 'offline' });
    const cred = makeCredential(row.id);
    await insertNode(ctx.store.db, { ...row, credential_hash: cred.hash });
    const end = await memory.connect(cred.credential);
    end.send(hello);
    await end.next('welcome');
    const { command } = await commands.submit({ node: row.id, type: 'exec.run', payload: { command: 'true' } });
    await end.next('command.dispatch', (m) => m.command.id === command.id);
    return { end, nodeId: row.id, commandId: command.id };
  }

  const stored = async (commandId: string) => (await outputAfter(ctx.store.db, commandId, -1)).map((r) => `${r.seq}:${r.stream}:${r.data}`);

  it('stores chunks in order and acknowledges them once stored; a resend is a no-op and acknowledged again', async () => {
    const { end, commandId } = await agentWithCommand();
    end.send({ type: 'command.output', commandId, chunks: [chunk(0, 'a\n'), chunk(1, 'oops\n', 'stderr')] });
    await end.next('output.ack', (m) => m.commandId === commandId && m.upTo === 1);
    expect(await stored(commandId)).toEqual(['0:stdout:a\n', '1:stderr:oops\n']);

    // A reconnect resends from the outbox: the old chunks overlap new ones.
    end.send({ type: 'command.output', commandId, chunks: [chunk(1, 'oops\n', 'stderr'), chunk(2, 'b\n')] });
    await end.next('output.ack', (m) => m.commandId === commandId && m.upTo === 2);
    end.send({ type: 'command.output', commandId, chunks: [chunk(0, 'changed?')] });
    await end.next('output.ack', (m) => m.commandId === commandId && m.upTo === 2 && end.received.filter((r) => r.type === 'output.ack').length === 3);
    expect(await stored(commandId)).toEqual(['0:stdout:a\n', '1:stderr:oops\n', '2:stdout:b\n']);
    expect(await getOutputState(ctx.store.db, commandId)).toMatchObject({ output_seq: 3, output_bytes: 9, output_truncated: 0 });
    // Read after a seq, and for several commands at once (a job's readers).
    expect((await outputAfter(ctx.store.db, commandId, 0)).map((r) => r.seq)).toEqual([1, 2]);
    expect((await outputOfCommandsAfter(ctx.store.db, [{ commandId, after: 1 }, { commandId: 'cmd_other', after: -1 }])).map((r) => r.seq)).toEqual([2]);
  });

  it('past the cap acknowledges chunks without storing them and marks the command truncated', async () => {
    const { end, commandId } = await agentWithCommand();
    const twenty = '0123456789'.repeat(2);
    end.send({ type: 'command.output', commandId, chunks: [chunk(0, twenty), chunk(1, '0123456789012345678é'), chunk(2, 'X')] });
    await end.next('output.ack', (m) => m.commandId === commandId && m.upTo === 2);
    end.send({ type: 'command.output', commandId, chunks: [chunk(3, 'Y')] });
    await end.next('output.ack', (m) => m.commandId === commandId && m.upTo === 3);
    // The chunk crossing the cap keeps what fits, characters whole (é would need bytes 40 and 41).
    expect(await stored(commandId)).toEqual([`0:stdout:${twenty}`, '1:stdout:0123456789012345678']);
    expect(await getOutputState(ctx.store.db, commandId)).toMatchObject({ output_seq: 4, output_bytes: 39, output_truncated: 1 });
  });

  it('refuses output for a command that is not the node\'s, seqs that are not contiguous, a gap, and oversize messages, storing nothing', async () => {
    const { end, commandId } = await agentWithCommand();
    const other = await agentWithCommand();

    // Another node's command: refused, and acknowledged so the agent stops resending it.
    end.send({ type: 'command.output', commandId: other.commandId, chunks: [chunk(0, 'not yours')] });
    expect((await end.next('error', (m) => m.code === 'unknown_command')).message).toContain(other.commandId);
    await end.next('output.ack', (m) => m.commandId === other.commandId);
    end.send({ type: 'command.output', commandId: 'cmd_nobody', chunks: [chunk(0, 'x')] });
    await end.next('error', (m) => m.code === 'unknown_command' && m.message.includes('cmd_nobody'));

    end.send({ type: 'command.output', commandId, chunks: [chunk(0, 'a'), chunk(2, 'c')] });
    await end.next('error', (m) => m.code === 'output_not_contiguous');
    end.send({ type: 'command.output', commandId, chunks: [chunk(5, 'f')] });
    const gap = await end.next('error', (m) => m.code === 'output_gap');
    expect(gap.details).toEqual({ expected: 0 });

    end.send({ type: 'command.output', commandId, chunks: [chunk(0, 'x'.repeat(16 * 1024 + 1))] });
    expect((await end.next('error', (m) => m.code === 'invalid_message' && m.message.includes('command.output'))).message).toContain('data');
    end.send({ type: 'command.output', commandId, chunks: Array.from({ length: 65 }, (_, i) => chunk(i, 'x')) });
    await end.next('error', (m) => m.code === 'invalid_message' && m.message.includes('chunks'));
    end.send({ type: 'command.output', commandId, chunks: [] });
    await end.next('error', (m) => m.code === 'invalid_message' && m.message.includes('chunks'));

    // Handled in order: once this is acknowledged, every refusal before it was handled too.
    end.send({ type: 'command.output', commandId, chunks: [chunk(0, 'ok')] });
    await end.next('output.ack', (m) => m.commandId === commandId && m.upTo === 0);
    expect(await stored(commandId)).toEqual(['0:stdout:ok']);
    expect(await stored(other.commandId)).toEqual([]);
    expect(await getOutputState(ctx.store.db, other.commandId)).toMatchObject({ output_seq: 0, output_bytes: 0 });
    expect(end.closedWith).toBeNull();
  });

  it('replaces a command\'s secret payload values in its stored output', async () => {
    const { end, nodeId } = await agentWithCommand();
    const { command } = await commands.submit({ node: nodeId, type: 'exec.run', payload: { command: 'env', env: { TOKEN: 'hunter2-secret' } } });
    await end.next('command.dispatch', (m) => m.command.id === command.id);
    end.send({ type: 'command.output', commandId: command.id, chunks: [chunk(0, 'TOKEN=hunter2-secret\n')] });
    await end.next('output.ack', (m) => m.commandId === command.id);
    const [row] = await outputAfter(ctx.store.db, command.id, -1);
    expect(row!.data).not.toContain('hunter2');
  });
});
