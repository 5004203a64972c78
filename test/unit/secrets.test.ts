import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, generateToken, hashToken } from '../../src/auth/token-codec';
import { SecretBox } from '../../src/secrets/secret-box';
import { maskSecrets } from '../../src/secrets/secret-masker';

describe('SecretBox', () => {
  it('round-trips and never stores the plaintext', () => {
    const box = SecretBox.fromKey(Buffer.alloc(32, 7));
    const sealed = box.seal('hunter22');
    expect(sealed).not.toContain('hunter22');
    expect(box.seal('hunter22')).not.toBe(sealed);
    expect(box.open(sealed)).toBe('hunter22');
  });

  it('refuses a tampered value', () => {
    const box = SecretBox.fromKey(Buffer.alloc(32, 7));
    const raw = Buffer.from(box.seal('value'), 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => box.open(raw.toString('base64'))).toThrow();
  });

  it('creates a private key file once under the data dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bellows-key-'));
    const first = SecretBox.load(undefined, dir);
    const key = readFileSync(join(dir, 'secrets.key'), 'utf8');
    expect(statSync(join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
    const second = SecretBox.load(undefined, dir);
    expect(readFileSync(join(dir, 'secrets.key'), 'utf8')).toBe(key);
    expect(second.open(first.seal('x'))).toBe('x');
  });

  it('rejects a key of the wrong size', () => {
    expect(() => SecretBox.load(Buffer.alloc(16).toString('base64'), '/nonexistent')).toThrow(/32 bytes/);
  });
});

describe('maskSecrets', () => {
  it('masks every occurrence, longest secret first', () => {
    expect(maskSecrets('token abc123 and abc123xyz', ['abc123', 'abc123xyz'])).toBe('token *** and ***');
  });
  it('ignores values too short to mask safely', () => {
    expect(maskSecrets('a b c', ['a', ''])).toBe('a b c');
  });
});

describe('tokens', () => {
  it('are prefixed, random and hashed to hex', () => {
    const token = generateToken('bel_');
    expect(token).toMatch(/^bel_[A-Za-z0-9]{40}$/);
    expect(generateToken('bel_')).not.toBe(token);
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).not.toContain(token);
  });
  it('compare in constant time', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
  });
});
