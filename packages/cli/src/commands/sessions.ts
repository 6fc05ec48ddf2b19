import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { SessionRecording } from '@steward/protocol';
import { positiveInt } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { ago, bytes, span, table, timestamp } from '../format.js';
import { NodeNames } from '../node-names.js';
import { printJson, println } from '../output.js';

const exitText = (s: SessionRecording) => (s.exitCode === null ? s.state : String(s.exitCode));

export function registerSessions(program: Command): void {
  const sessions = program.command('sessions').description('recorded terminal sessions (`steward shell`, the dashboard terminal): list, show, replay file, delete (operator)');

  withConnection(
    sessions
      .command('ls')
      .description('list recorded sessions, newest first')
      .option('--node <node>', 'only this node')
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--json', 'print JSON'),
  ).action(async (opts: { node?: string; limit?: number; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const { items } = await client.listSessions({ node: opts.node, limit: opts.limit });
    if (opts.json) return printJson(items);
    const now = Date.now();
    const names = new NodeNames(client);
    const rows: string[][] = [];
    for (const s of items) rows.push([s.id, await names.name(s.nodeId), s.openedBy?.name ?? '-', ago(s.startedAt, now), span(s.durationMs), exitText(s), bytes(s.bytes)]);
    println(table(['ID', 'NODE', 'OPENED BY', 'STARTED', 'DURATION', 'EXIT', 'SIZE'], rows));
  });

  withConnection(sessions.command('show').description("a session's metadata").argument('<id>', 'session (command) id').option('--json', 'print JSON')).action(
    async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const client = clientFor(cmd);
      const s = await client.getSession(id);
      if (opts.json) return printJson(s);
      const node = await new NodeNames(client).name(s.nodeId);
      println(
        table(
          ['FIELD', 'VALUE'],
          [
            ['id', s.id],
            ['node', node],
            ['opened by', s.openedBy ? `${s.openedBy.name} (${s.openedBy.tokenId})` : '-'],
            ['started', timestamp(s.startedAt)],
            ['ended', timestamp(s.endedAt)],
            ['duration', span(s.durationMs)],
            ['state', s.state],
            ['exit code', s.exitCode === null ? '-' : String(s.exitCode)],
            ['recording', `${bytes(s.bytes)} (steward sessions cat ${s.id} > session.cast; asciinema play session.cast)`],
          ],
        ),
      );
    },
  );

  withConnection(sessions.command('cat').description('write the recording (asciicast v2) to stdout: `steward sessions cat ID > x.cast`').argument('<id>', 'session (command) id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      await pipeline(await clientFor(cmd).sessionRecordingStream(id), process.stdout, { end: false });
    },
  );

  withConnection(sessions.command('rm').description('delete a recording and its file').argument('<id>', 'session (command) id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).deleteSession(id);
      println(`deleted ${id}`);
    },
  );
}
