import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Signature checks for incoming webhooks. Pure functions over the raw request bytes: a body that
// was parsed and re-serialised would no longer match what the sender signed.

export type VerifyResult = { ok: true } | { ok: false; code: VerifyFailure; reason: string };
export type VerifyFailure = 'missing_signature' | 'invalid_signature' | 'stale_timestamp' | 'missing_headers';

/** Standard Webhooks: deliveries older or newer than this are refused, so a captured request cannot be replayed later. */
export const STANDARD_TOLERANCE_SECONDS = 5 * 60;

const STANDARD_SECRET_PREFIX = 'whsec_';

/** Compares two byte strings in constant time (length is not secret: it is fixed by the algorithm). */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`. */
export function verifyGithubSignature(secret: string, body: Buffer, header: string | undefined): VerifyResult {
  if (!header) return { ok: false, code: 'missing_signature', reason: 'The X-Hub-Signature-256 header is missing; set a secret on the GitHub webhook.' };
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return { ok: false, code: 'invalid_signature', reason: 'X-Hub-Signature-256 must look like "sha256=<64 hex digits>".' };
  const expected = createHmac('sha256', secret).update(body).digest();
  if (!safeEqual(expected, Buffer.from(match[1], 'hex'))) {
    return { ok: false, code: 'invalid_signature', reason: 'X-Hub-Signature-256 does not match the body signed with this hook\'s secret.' };
  }
  return { ok: true };
}

export function signGithub(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The HMAC key of a Standard Webhooks secret: the bytes behind `whsec_<base64>`. */
export function standardSecretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(STANDARD_SECRET_PREFIX) ? secret.slice(STANDARD_SECRET_PREFIX.length) : secret, 'base64');
}

/** Why a Standard Webhooks secret is unusable, or null. The spec asks for 24 to 64 random bytes. */
export function standardSecretProblem(secret: string): string | null {
  if (!secret.startsWith(STANDARD_SECRET_PREFIX)) return 'a Standard Webhooks secret must look like "whsec_<base64>"';
  const body = secret.slice(STANDARD_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return 'the part after "whsec_" must be base64';
  const bytes = Buffer.from(body, 'base64').length;
  if (bytes < 24 || bytes > 64) return `the secret must decode to 24-64 bytes; it has ${bytes}`;
  return null;
}

export function signStandard(secret: string, id: string, timestamp: number | string, body: Buffer | string): string {
  const mac = createHmac('sha256', standardSecretKey(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/**
 * Standard Webhooks: HMAC-SHA256 of `id.timestamp.body`, base64, in `webhook-signature` as one or more
 * space-separated `v1,<sig>` entries (several while a sender rotates its secret). Other versions are ignored.
 */
export function verifyStandardSignature(
  secret: string,
  body: Buffer,
  headers: { id?: string; timestamp?: string; signature?: string },
  nowSeconds: number,
): VerifyResult {
  if (!headers.id || !headers.timestamp) {
    return { ok: false, code: 'missing_headers', reason: 'Standard Webhooks deliveries need the webhook-id and webhook-timestamp headers.' };
  }
  if (!headers.signature) return { ok: false, code: 'missing_signature', reason: 'The webhook-signature header is missing.' };
  if (!/^\d{1,12}$/.test(headers.timestamp.trim())) {
    return { ok: false, code: 'stale_timestamp', reason: 'webhook-timestamp must be a Unix time in seconds.' };
  }
  const timestamp = Number(headers.timestamp.trim());
  if (Math.abs(nowSeconds - timestamp) > STANDARD_TOLERANCE_SECONDS) {
    return {
      ok: false,
      code: 'stale_timestamp',
      reason: `webhook-timestamp is ${Math.round(Math.abs(nowSeconds - timestamp))} s away from the server's clock; at most ${STANDARD_TOLERANCE_SECONDS} s is accepted.`,
    };
  }
  const expected = createHmac('sha256', standardSecretKey(secret)).update(`${headers.id}.${headers.timestamp.trim()}.`).update(body).digest();
  const candidates = headers.signature
    .split(' ')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  if (candidates.length === 0) return { ok: false, code: 'invalid_signature', reason: 'webhook-signature holds no "v1,<base64>" signature.' };
  // Every candidate is compared (no early exit), so timing does not reveal which one matched.
  let matched = false;
  for (const candidate of candidates) matched = safeEqual(expected, candidate) || matched;
  if (!matched) return { ok: false, code: 'invalid_signature', reason: 'No webhook-signature entry matches the delivery signed with this hook\'s secret.' };
  return { ok: true };
}

/** A high-entropy secret in the shape the format expects (256 bits either way). */
export function generateHookSecret(format: 'github' | 'standard'): string {
  const bytes = randomBytes(32);
  return format === 'standard' ? `${STANDARD_SECRET_PREFIX}${bytes.toString('base64')}` : `bhs_${bytes.toString('base64url')}`;
}
