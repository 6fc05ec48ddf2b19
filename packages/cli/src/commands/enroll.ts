import type { Command } from 'commander';
import { parseLabelArgs } from '@steward/protocol/labels';
import type { EnrollmentTokenCreated } from '@steward/protocol';
import { collectLabel, durationOption, positiveInt } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { ago, labelsText, table, timestamp, until } from '../format.js';
import { printJson, println } from '../output.js';
import { agentCommandLine, installCommandLine } from '@steward/protocol/command-lines';

export { agentCommandLine, installCommandLine } from '@steward/protocol/command-lines';

export function registerEnroll(program: Command): void {
  const enroll = program.command('enroll').description('manage enrollment tokens for new agents');

  withConnection(
    enroll
      .command('create')
      .description('create an enrollment token and print the agent command line')
      .addOption(durationOption('--ttl <duration>', 'how long the token stays valid', 3_600_000))
      .option('--uses <n>', 'how many agents may enroll with it', positiveInt, 1)
      .option('--label <k=v>', 'label given to nodes enrolling with it (repeatable)', collectLabel, [])
      .option('--note <text>', 'free text shown in listings')
      .option('--json', 'print JSON'),
  ).action(async (opts: { ttl: number; uses: number; label: string[]; note?: string; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const created: EnrollmentTokenCreated = await client.createEnrollmentToken({
      ttlSeconds: Math.max(1, Math.ceil(opts.ttl / 1000)),
      uses: opts.uses,
      ...(opts.label.length ? { labels: parseLabelArgs(opts.label, '--label') } : {}),
      ...(opts.note !== undefined ? { note: opts.note } : {}),
    });
    const ca = await client.serverCa();
    const line = agentCommandLine(client.baseUrl, created.token, opts.label, ca.tls ? ca.sha256 : null);
    const install = installCommandLine(client.baseUrl, created.token, opts.label, ca.tls ? ca : null);
    if (opts.json) {
      printJson({ ...created, agentCommand: line, installCommand: install, ...(ca.sha256 ? { caSha256: ca.sha256 } : {}) });
      return;
    }
    println(`token:   ${created.token}`);
    println(`id:      ${created.id}`);
    println(`uses:    ${created.usesAllowed}`);
    println(`expires: ${timestamp(created.expiresAt)} (${until(created.expiresAt)})`);
    println('');
    println('This is the only time the token is shown. To install and start the agent on the new machine:');
    println(`  ${install}`);
    println('');
    println('or, where steward is already installed:');
    println(`  ${line}`);
    if (ca.tls && !ca.sha256) println('(the server uses your own certificate: add --ca-file with your CA to that line)');
  });

  withConnection(enroll.command('ls').description('list enrollment tokens').option('--json', 'print JSON')).action(
    async (opts: { json?: boolean }, cmd: Command) => {
      const { items } = await clientFor(cmd).listEnrollmentTokens();
      if (opts.json) return printJson(items);
      if (items.length === 0) return println('no enrollment tokens');
      const now = Date.now();
      println(
        table(
          ['ID', 'USES LEFT', 'LABELS', 'EXPIRES', 'CREATED', 'NOTE'],
          items.map((t) => [
            t.id,
            `${t.usesLeft}/${t.usesAllowed}`,
            labelsText(t.labels),
            t.expired ? `expired ${ago(t.expiresAt, now)}` : until(t.expiresAt, now),
            ago(t.createdAt, now),
            t.note ?? '',
          ]),
        ),
      );
    },
  );

  withConnection(enroll.command('rm').description('revoke an enrollment token').argument('<id>', 'token id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).deleteEnrollmentToken(id);
      println(`deleted ${id}`);
    },
  );
}
