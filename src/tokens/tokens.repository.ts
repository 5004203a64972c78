import { Inject, Injectable } from '@nestjs/common';
import type { Scope } from '../auth/principal';
import { SQL, type Sql } from '../database/sql';

export type TokenKind = 'api' | 'agent';

export type TokenRecord = {
  id: string;
  kind: TokenKind;
  name: string;
  scopes: Scope[];
  projectId: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
};

@Injectable()
export class TokensRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  async insert(token: { kind: TokenKind; name: string; hash: string; scopes: Scope[]; projectId: string | null }): Promise<TokenRecord> {
    const [row] = await this.sql<TokenRecord[]>`
      insert into tokens (kind, name, token_hash, scopes, project_id)
      values (${token.kind}, ${token.name}, ${token.hash}, ${token.scopes}, ${token.projectId})
      returning id, kind, name, scopes, project_id as "projectId", created_at as "createdAt", last_used_at as "lastUsedAt"`;
    return row;
  }

  // Idempotent: the configured admin token is ensured at every start, by hash.
  async ensure(token: { kind: TokenKind; name: string; hash: string; scopes: Scope[] }): Promise<void> {
    await this.sql`
      insert into tokens (kind, name, token_hash, scopes)
      values (${token.kind}, ${token.name}, ${token.hash}, ${token.scopes})
      on conflict (token_hash) do update set revoked_at = null, scopes = excluded.scopes`;
  }

  async findActiveByHash(hash: string): Promise<TokenRecord | undefined> {
    const [row] = await this.sql<TokenRecord[]>`
      select id, kind, name, scopes, project_id as "projectId", created_at as "createdAt", last_used_at as "lastUsedAt"
      from tokens where token_hash = ${hash} and revoked_at is null`;
    return row;
  }

  async list(kind: TokenKind): Promise<TokenRecord[]> {
    return this.sql<TokenRecord[]>`
      select id, kind, name, scopes, project_id as "projectId", created_at as "createdAt", last_used_at as "lastUsedAt"
      from tokens where kind = ${kind} and revoked_at is null order by created_at`;
  }

  async revoke(id: string): Promise<boolean> {
    const rows = await this.sql`update tokens set revoked_at = now() where id = ${id} and revoked_at is null returning id`;
    return rows.length > 0;
  }

  // Coarse on purpose (one write per token per minute) so reads stay reads.
  async touch(id: string): Promise<void> {
    await this.sql`
      update tokens set last_used_at = now()
      where id = ${id} and (last_used_at is null or last_used_at < now() - interval '1 minute')`.catch(() => undefined);
  }
}
