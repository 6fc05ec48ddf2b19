import { InvalidArgumentError, type Command } from 'commander';
import { durationMs, positiveInt, selector } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { EXIT_FAILURE } from '../errors.js';
import { ago, table, timestamp } from '../format.js';
import { eprintln, printJson, println } from '../output.js';

/** `--since 2h` (that long ago) or an ISO time (`2026-11-30T20:00:00Z`). */
export function sinceTime(value: string, now: number = Date.now()): number {
  try {
    return now - durationMs(value);
  } catch {
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw new InvalidArgumentError('a duration (30m, 2h, 7d) or an ISO time');
    return t;
  }
}

/** `steward audit`: the operator actions log and its chain check. */
export function registerAudit(program: Command): void {
  const audit = withConnection(
    program
      .command('audit')
      .description('list operator actions from the hash-chained audit log, newest first (admin and operator tokens)')
      .option('--since <when>', 'only since then: a duration ago (2h, 7d) or an ISO time', (v) => sinceTime(v))
      .option('--actor <token>', 'only this token (id or name)')
      .option('--action <action>', 'only this action (jobs.create), or a family (commands.*)')
      .option('--target <id>', 'only actions on this id')
      .option('--limit <n>', 'at most this many', positiveInt)
      .option('--json', 'print JSON'),
  ).action(async (opts: { since?: number; actor?: string; action?: string; target?: string; limit?: number; json?: boolean }, cmd: Command) => {
    const { items } = await clientFor(cmd).listAudit({ since: opts.since, actor: opts.actor, action: opts.action, target: opts.target, limit: opts.limit });
    if (opts.json) return printJson(items);
    if (items.length === 0) return println('no audit entries');
    const now = Date.now();
    println(
      table(
        ['ID', 'WHEN', 'ACTOR', 'ROLE', 'ACTION', 'TARGET', 'RESULT', 'FROM'],
        items.map((e) => [
          String(e.id),
          ago(e.at, now),
          e.actorName ?? '(unknown)',
          e.role ?? '-',
          e.action,
          e.target ?? '-',
          e.errorCode ? `${e.status} ${e.errorCode}` : String(e.status),
          e.sourceIp,
        ]),
      ),
    );
  });

  withConnection(
    audit
      .command('verify')
      .description('walk the hash chain from its first row and report the first broken link (exit 1 when broken)')
      .option('--json', 'print JSON'),
  ).action(async (opts: { json?: boolean }, cmd: Command) => {
    const report = await clientFor(cmd).verifyAudit();
    if (opts.json) printJson(report);
    else if (report.ok) {
      println(`ok: ${report.checked} entries, chain intact`);
      if (report.head) println(`head: ${report.head.id} ${report.head.hash}  (keep this elsewhere: a cut tail shows as a different head)`);
    } else {
      const b = report.broken!;
      eprintln(`BROKEN at entry ${b.id} (${b.reason}): expected ${b.expected}, found ${b.found}; ${report.checked} entries checked`);
    }
    if (!report.ok) process.exitCode = EXIT_FAILURE;
  });
}

/** `steward approvals`, `steward approve`, `steward reject`: the second operator's side. */
export function registerApprovals(program: Command): void {
  const approvals = program.command('approvals').description('commands and jobs awaiting a second operator, and the policies that hold them');

  withConnection(
    approvals
      .command('ls')
      .description('list approval requests (default: those awaiting a decision)')
      .option('--all', 'every request, decided ones too')
      .option('--json', 'print JSON'),
  ).action(async (opts: { all?: boolean; json?: boolean }, cmd: Command) => {
    const { items } = await clientFor(cmd).listApprovals(opts.all ? {} : { state: 'awaiting' });
    if (opts.json) return printJson(items);
    if (items.length === 0) return println(opts.all ? 'no approval requests' : 'nothing awaits approval');
    const now = Date.now();
    println(
      table(
        ['ID', 'KIND', 'TYPE', 'POLICY', 'STATE', 'APPROVALS', 'REQUESTED BY', 'CREATED', 'EXPIRES'],
        items.map((r) => [r.id, r.kind, r.type, r.policy, r.state, `${r.approvedBy.length}/${r.needed}`, r.requestedBy, ago(r.createdAt, now), timestamp(r.expiresAt)]),
      ),
    );
  });

  const policies = approvals.command('policies').description('approval policies (admin tokens change them)');
  withConnection(policies.command('ls').description('list approval policies').option('--json', 'print JSON')).action(
    async (opts: { json?: boolean }, cmd: Command) => {
      const { items } = await clientFor(cmd).listApprovalPolicies();
      if (opts.json) return printJson(items);
      if (items.length === 0) return println('no approval policies');
      println(table(['NAME', 'TYPES', 'SELECTOR', 'APPROVALS', 'TTL'], items.map((p) => [p.name, p.commandTypes.join(','), p.selector ?? '(all nodes)', String(p.approvals), `${p.ttlSeconds}s`])));
    },
  );
  withConnection(
    policies
      .command('set')
      .description('create or replace a policy: commands of these types to matching nodes need approval')
      .argument('<name>', 'policy name')
      .requiredOption('--types <globs>', 'command types or globs, comma-separated (exec.*,fs.rm)')
      .option('--selector <sel>', 'nodes it covers (default: all)', selector)
      .option('--approvals <n>', 'approvals by other tokens needed', positiveInt, 1)
      .option('--ttl <duration>', 'expire unapproved after this', (v) => Math.ceil(durationMs(v) / 1000), 3600)
      .option('--json', 'print JSON'),
  ).action(async (name: string, opts: { types: string; selector?: string; approvals: number; ttl: number; json?: boolean }, cmd: Command) => {
    const p = await clientFor(cmd).putApprovalPolicy(name, {
      commandTypes: opts.types.split(',').map((t) => t.trim()).filter(Boolean),
      ...(opts.selector ? { selector: opts.selector } : {}),
      approvals: opts.approvals,
      ttlSeconds: opts.ttl,
    });
    if (opts.json) return printJson(p);
    println(`policy ${p.name}: ${p.commandTypes.join(',')} on ${p.selector ?? 'all nodes'} needs ${p.approvals} approval(s) within ${p.ttlSeconds}s`);
  });
  withConnection(policies.command('rm').description('delete a policy').argument('<name>', 'policy name')).action(async (name: string, _o: unknown, cmd: Command) => {
    await clientFor(cmd).deleteApprovalPolicy(name);
    println(`deleted policy ${name}`);
  });

  withConnection(
    program.command('approve').description('approve a command or a whole job awaiting approval (not one you submitted)').argument('<id>', 'command or job id').option('--json', 'print JSON'),
  ).action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const r = id.startsWith('job_') ? await client.approveJob(id) : await client.approveCommand(id);
    if (opts.json) return printJson(r);
    println(`${r.id}: ${r.state}`);
  });

  withConnection(
    program
      .command('reject')
      .description('reject a command or a whole job awaiting approval; it is cancelled')
      .argument('<id>', 'command or job id')
      .option('--reason <text>', 'why (kept with the request and in the audit log)')
      .option('--json', 'print JSON'),
  ).action(async (id: string, opts: { reason?: string; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const r = id.startsWith('job_') ? await client.rejectJob(id, opts.reason) : await client.rejectCommand(id, opts.reason);
    if (opts.json) return printJson(r);
    println(`${r.id}: ${r.state}`);
  });
}

/** What `run`, `commands submit` and `jobs show` say instead of waiting silently. */
export function awaitingApprovalNote(id: string, count = 1): string {
  const what = id.startsWith('job_') ? `job ${id}: ${count} node${count === 1 ? '' : 's'}` : id;
  return `${what} awaiting approval by a second operator (they run: steward approve ${id})`;
}
