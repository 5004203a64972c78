import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export type TokenPrefix = 'bel_' | 'bela_' | 'bels_';

// Prefixed so secret scanners and people can tell a Bellows API token (bel_), agent
// registration token (bela_) and agent secret (bels_) apart.
export function generateToken(prefix: TokenPrefix): string {
  const bytes = randomBytes(40);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return prefix + out;
}

// Tokens carry ~238 bits of entropy, so an unsalted SHA-256 is enough to make a leaked table useless.
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
