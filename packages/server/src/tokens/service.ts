import { InvalidStateError, newId, NotFoundError, type ApiRole, type ApiToken, type ApiTokenCreate, type ApiTokenCreated } from '@steward/protocol';
import type { Context } from '../core/context.js';
import { makeCredential } from '../security/secrets.js';
import type { ApiTokensTable } from '../store/schema.js';
import { countApiTokens, deleteApiToken, getApiToken, insertApiToken, listApiTokens } from '../store/queries/tokens.js';

function fromRow(r: ApiTokensTable): ApiToken {
  return { id: r.id, name: r.name, role: r.role as ApiRole, createdAt: r.created_at, lastUsedAt: r.last_used_at };
}

/** Operator API tokens: shown once at creation, stored as hashes. */
export class TokenService {
  constructor(private readonly ctx: Context) {}

  async create(body: ApiTokenCreate): Promise<ApiTokenCreated> {
    const id = newId('tok');
    const { credential, hash } = makeCredential(id);
    const row: ApiTokensTable = { id, name: body.name, role: body.role, token_hash: hash, created_at: this.ctx.now(), last_used_at: null };
    await insertApiToken(this.ctx.store.db, row);
    return { ...fromRow(row), token: credential };
  }

  /** The token a request came with (its id from authentication), for the dashboard to know what it may do. */
  async self(id: string): Promise<ApiToken> {
    const row = await getApiToken(this.ctx.store.db, id);
    if (!row) throw new NotFoundError('token', id);
    return fromRow(row);
  }

  async list(): Promise<ApiToken[]> {
    return (await listApiTokens(this.ctx.store.db)).map(fromRow);
  }

  async remove(id: string): Promise<void> {
    const row = await getApiToken(this.ctx.store.db, id);
    if (!row) throw new NotFoundError('token', id);
    if (row.role === 'admin' && (await countApiTokens(this.ctx.store.db, 'admin')) <= 1) {
      throw new InvalidStateError('refusing to delete the last admin token');
    }
    await deleteApiToken(this.ctx.store.db, id);
  }
}
