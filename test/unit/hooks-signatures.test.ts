import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateHookSecret,
  signGithub,
  signStandard,
  standardSecretProblem,
  verifyGithubSignature,
  verifyStandardSignature,
} from '../../src/hooks/webhook-signatures';

const body = Buffer.from('{"ref":"refs/heads/main"}');

describe('GitHub signatures', () => {
  it('accepts the HMAC of the exact bytes', () => {
    const header = `sha256=${createHmac('sha256', 'It\'s a Secret to Everybody').update(body).digest('hex')}`;
    expect(verifyGithubSignature('It\'s a Secret to Everybody', body, header)).toEqual({ ok: true });
    expect(verifyGithubSignature('It\'s a Secret to Everybody', body, header.toUpperCase().replace('SHA256=', 'sha256='))).toEqual({ ok: true });
  });

  it('matches GitHub\'s documented test vector', () => {
    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    expect(signGithub("It's a Secret to Everybody", 'Hello, World!')).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
  });

  it('refuses a missing, malformed or wrong signature, and a changed body', () => {
    expect(verifyGithubSignature('s', body, undefined)).toMatchObject({ ok: false, code: 'missing_signature' });
    expect(verifyGithubSignature('s', body, 'sha1=abc')).toMatchObject({ ok: false, code: 'invalid_signature' });
    expect(verifyGithubSignature('s', body, signGithub('other', body))).toMatchObject({ ok: false, code: 'invalid_signature' });
    expect(verifyGithubSignature('s', Buffer.from(`${body} `), signGithub('s', body))).toMatchObject({ ok: false, code: 'invalid_signature' });
  });
});

describe('Standard Webhooks signatures', () => {
  const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
  const now = 1_700_000_000;

  it('matches the Standard Webhooks reference vector', () => {
    // From the standard-webhooks reference libraries' tests.
    const reference = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(signStandard(reference, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('accepts a fresh delivery with one of several signatures', () => {
    const good = signStandard(secret, 'msg_1', now, body);
    const other = signStandard(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, 'msg_1', now, body);
    expect(verifyStandardSignature(secret, body, { id: 'msg_1', timestamp: String(now), signature: good }, now)).toEqual({ ok: true });
    expect(verifyStandardSignature(secret, body, { id: 'msg_1', timestamp: String(now), signature: `v1a,xyz ${other} ${good}` }, now + 299)).toEqual({ ok: true });
  });

  it('refuses stale or future timestamps, a swapped id, and missing headers', () => {
    const good = signStandard(secret, 'msg_1', now, body);
    expect(verifyStandardSignature(secret, body, { id: 'msg_1', timestamp: String(now), signature: good }, now + 301)).toMatchObject({ code: 'stale_timestamp' });
    expect(verifyStandardSignature(secret, body, { id: 'msg_1', timestamp: String(now), signature: good }, now - 301)).toMatchObject({ code: 'stale_timestamp' });
    expect(verifyStandardSignature(secret, body, { id: 'msg_1', timestamp: 'yesterday', signature: good }, now)).toMatchObject({ code: 'stale_timestamp' });
    expect(verifyStandardSignature(secret, body, { id: 'msg_2', timestamp: String(now), signature: good }, now)).toMatchObject({ code: 'invalid_signature' });
    expect(verifyStandardSignature(secret, body, { id: 'msg_1', timestamp: String(now), signature: good.replace('v1,', 'v2,') }, now)).toMatchObject({ code: 'invalid_signature' });
    expect(verifyStandardSignature(secret, body, { timestamp: String(now), signature: good }, now)).toMatchObject({ code: 'missing_headers' });
    expect(verifyStandardSignature(secret, body, { id: 'msg_1', timestamp: String(now) }, now)).toMatchObject({ code: 'missing_signature' });
  });

  it('validates user-supplied secrets', () => {
    expect(standardSecretProblem(secret)).toBeNull();
    expect(standardSecretProblem('plain-text-secret-123')).toContain('whsec_');
    expect(standardSecretProblem(`whsec_${Buffer.alloc(8).toString('base64')}`)).toContain('24-64 bytes');
    expect(standardSecretProblem('whsec_!!!')).toContain('base64');
  });
});

describe('generated secrets', () => {
  it('carry 256 bits in the shape of their format', () => {
    const standard = generateHookSecret('standard');
    expect(standardSecretProblem(standard)).toBeNull();
    expect(generateHookSecret('github')).toMatch(/^bhs_[A-Za-z0-9_-]{43}$/);
    expect(generateHookSecret('github')).not.toBe(generateHookSecret('github'));
  });
});
