import { InvalidArgumentError, type Command } from 'commander';
import { API_ROLES, type ApiRole } from '@steward/protocol';
import { clientFor, withConnection } from '../connect.js';
import { ago, table } from '../format.js';
import { printJson, println } from '../output.js';

function role(value: string): ApiRole {
  if (!(API_ROLES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${API_ROLES.join(', ')}`);
  }
  return value as ApiRole;
}

export function registerTokens(program: Command): void {
  const tokens = program
    .command('tokens')
    .description('manage operator API tokens (admin: everything; operator: read and change; reader: read only)');

  withConnection(
    tokens
      .command('create')
      .description('create an API token; it is shown once')
      .argument('<name>', 'what the token is for')
      .option('--role <role>', `one of ${API_ROLES.join(', ')}`, role, 'reader' as ApiRole)
      .option('--json', 'print JSON'),
  ).action(async (name: string, opts: { role: ApiRole; json?: boolean }, cmd: Command) => {
    const created = await clientFor(cmd).createToken({ name, role: opts.role });
    if (opts.json) return printJson(created);
    println(`token: ${created.token}`);
    println(`id:    ${created.id}`);
    println(`role:  ${created.role}`);
    println('');
    println('This is the only time the token is shown.');
  });

  withConnection(tokens.command('ls').description('list API tokens').option('--json', 'print JSON')).action(
    async (opts: { json?: boolean }, cmd: Command) => {
      const { items } = await clientFor(cmd).listTokens();
      if (opts.json) return printJson(items);
      const now = Date.now();
      println(
        table(
          ['ID', 'NAME', 'ROLE', 'CREATED', 'LAST USED'],
          items.map((t) => [t.id, t.name, t.role, ago(t.createdAt, now), t.lastUsedAt ? ago(t.lastUsedAt, now) : 'never']),
        ),
      );
    },
  );

  withConnection(tokens.command('rm').alias('revoke').description('revoke an API token (it stops working at once)').argument('<id>', 'token id')).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).deleteToken(id);
      println(`deleted ${id}`);
    },
  );
}
