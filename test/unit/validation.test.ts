import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/common/api-error';
import { idParam, isUuid } from '../../src/common/validation';

describe('idParam', () => {
  const runId = idParam('run');

  it.each(['1', '42', String(Number.MAX_SAFE_INTEGER)])('takes %s', (text) => {
    expect(runId.transform(text, { type: 'param' })).toBe(Number(text));
  });

  // ParseIntPipe, which the controllers used, took the first three.
  it.each(['0', '-3', '007', '1e3', '1.5', 'abc', '', String(Number.MAX_SAFE_INTEGER + 2)])('answers 400 naming the id for %j', (text) => {
    let thrown: unknown;
    try {
      runId.transform(text, { type: 'param' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    expect((thrown as ApiError).getStatus()).toBe(400);
    expect((thrown as ApiError).getResponse()).toEqual({ error: { code: 'bad_request', message: `The run id must be a positive integer; got "${text}".` } });
  });
});

describe('isUuid', () => {
  it('tells uuids from other text', () => {
    expect(isUuid('18f4396d-b2ee-423f-92bd-9a15e77c1ed0')).toBe(true);
    expect(isUuid('18F4396D-B2EE-423F-92BD-9A15E77C1ED0')).toBe(true);
    expect(isUuid('18f4396d-b2ee-423f-92bd-9a15e77c1ed')).toBe(false);
    expect(isUuid("1' or '1'='1")).toBe(false);
  });
});
