import { afterEach, expect, it } from 'vitest';
import { withIds } from '../../src/common/log-fields';

afterEach(() => {
  delete process.env.BELLOWS_LOG_FORMAT;
});

it('carries run and job ids as JSON fields in the json log format', () => {
  process.env.BELLOWS_LOG_FORMAT = 'json';
  expect(withIds('agent lost', { runId: 4, jobId: 9, try: 1 })).toEqual({ msg: 'agent lost', runId: 4, jobId: 9, try: 1 });
});

it('appends them readably otherwise, skipping empty ones', () => {
  expect(withIds('agent lost', { runId: 4, jobId: 9, agent: undefined })).toBe('agent lost (runId=4 jobId=9)');
  expect(withIds('plain', {})).toBe('plain');
});
