import { Injectable } from '@nestjs/common';
import { hasScope, type TokenPrincipal } from '../auth/principal';
import { hashToken } from '../auth/token-codec';
import { TokensRepository } from '../tokens/tokens.repository';

export type LiveErrorCode = 'unauthorized' | 'forbidden' | 'invalid_room' | 'not_found' | 'internal';

/** A refusal viewers can show as is: `message` is a sentence, `code` is for programs. */
export class LiveError extends Error {
  constructor(
    readonly code: LiveErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type LivePrincipal = TokenPrincipal & { tokenHash: string };

/** The REST rules for API tokens, applied to a Socket.IO handshake (`auth: { token }`). */
@Injectable()
export class LiveAuth {
  constructor(private readonly tokens: TokensRepository) {}

  async authenticate(auth: unknown): Promise<LivePrincipal> {
    const token = typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
    if (typeof token !== 'string' || !token) {
      throw new LiveError('unauthorized', 'Missing token: connect with `auth: { token: "<API token with read scope>" }`.');
    }
    return this.check(hashToken(token.replace(/^Bearer\s+/i, '')));
  }

  /** Checked again at every subscribe, so a revoked token stops getting new rooms at once. */
  async check(tokenHash: string): Promise<LivePrincipal> {
    const record = await this.tokens.findActiveByHash(tokenHash);
    if (!record) throw new LiveError('unauthorized', 'Invalid or revoked token.');
    if (record.kind !== 'api') throw new LiveError('forbidden', 'Agent tokens cannot watch live events; use an API token with the read scope.');
    const principal: LivePrincipal = { kind: 'token', tokenId: record.id, name: record.name, scopes: record.scopes, projectId: record.projectId, tokenHash };
    if (!hasScope(principal, 'read')) {
      throw new LiveError('forbidden', `This token lacks the "read" scope (it has: ${record.scopes.join(', ') || 'none'}).`);
    }
    void this.tokens.touch(record.id);
    return principal;
  }
}
