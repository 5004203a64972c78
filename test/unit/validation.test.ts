import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { numericId, pageLimit } from '../../contract/common';
import { ApiError } from '../../src/common/api-error';
import { parseOrReject } from '../../src/common/contract-route';
import { isUuid } from '../../src/common/validation';

/** What the route pipes answer: the parsed value, or the ApiError's status and body. */
function answer(schema: z.ZodType, value: unknown, where: 'path' | 'query' | 'body') {
  try {
    return { value: parseOrReject(schema, value, where) as unknown };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { status: error.getStatus(), body: error.getResponse() };
  }
}

describe('numeric ids in paths', () => {
  const params = z.object({ id: numericId('run') });

  it.each(['1', '42', String(Number.MAX_SAFE_INTEGER)])('takes %s', (text) => {
    expect(answer(params, { id: text }, 'path')).toEqual({ value: { id: Number(text) } });
  });

  // ParseIntPipe, which the controllers once used, took the first three.
  it.each(['0', '-3', '007', '1e3', '1.5', 'abc', '', String(Number.MAX_SAFE_INTEGER + 2)])('answers 400 naming the id for %j', (text) => {
    expect(answer(params, { id: text }, 'path')).toEqual({
      status: 400,
      body: { error: { code: 'bad_request', message: `The run id must be a positive integer; got "${text}".` } },
    });
  });
});

describe('page limits', () => {
  const query = z.object({ limit: pageLimit(50, 200) });

  it('default when absent, and name the bounds otherwise', () => {
    expect(answer(query, {}, 'query')).toEqual({ value: { limit: 50 } });
    expect(answer(query, { limit: '200' }, 'query')).toEqual({ value: { limit: 200 } });
    for (const raw of ['0', '201', '1.5', 'ten']) {
      expect(answer(query, { limit: raw }, 'query')).toMatchObject({ status: 400, body: { error: { code: 'validation_failed', message: `limit must be an integer from 1 to 200; got "${raw}".` } } });
    }
  });
});

describe('request bodies', () => {
  const body = z.strictObject({ name: z.string().regex(/^[a-z]+$/, 'name must be lowercase letters') });

  it('name every failing field, unknown ones included', () => {
    expect(answer(body, { name: 'X', extra: 1 }, 'body')).toEqual({
      status: 400,
      body: { error: { code: 'validation_failed', message: 'name must be lowercase letters; unknown field "extra"' } },
    });
  });

  it('refuse a body that is not an object', () => {
    expect(answer(body, [1], 'body')).toMatchObject({ status: 400, body: { error: { message: 'The request body must be a JSON object.' } } });
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
