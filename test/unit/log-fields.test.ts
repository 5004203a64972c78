import { afterEach, expect, it, vi } from 'vitest';
import { createAppLogger } from '../../src/common/app-logger';
import { withIds } from '../../src/common/log-fields';
import { loadConfig } from '../../src/config/config';

afterEach(() => {
  vi.restoreAllMocks();
});

/** What the API's logger writes to stdout for `write` under the given settings. */
function printed(settings: Record<string, string>, write: (logger: ReturnType<typeof createAppLogger>) => void): string {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  write(createAppLogger(loadConfig(settings)));
  return lines.join('');
}

it('carries run and job ids as JSON fields in the json log format', () => {
  const out = printed({ BELLOWS_LOG_FORMAT: 'json' }, (logger) => logger.warn(withIds('agent lost', { runId: 4, jobId: 9, try: 1 }), 'reaper'));
  expect(JSON.parse(out)).toMatchObject({ level: 'warn', context: 'reaper', message: { msg: 'agent lost', runId: 4, jobId: 9, try: 1 } });
});

it('appends them readably in text, skipping empty ones', () => {
  const out = printed({}, (logger) => {
    logger.warn(withIds('agent lost', { runId: 4, jobId: 9, agent: undefined }), 'reaper');
    logger.log(withIds('plain', {}), 'reaper');
  });
  expect(out).toContain('agent lost (runId=4 jobId=9)');
  expect(out).toContain('plain');
  // Printed as text, not as the record object.
  expect(out).not.toContain('msg');
  expect(out).not.toContain('agent=');
});

it('shows only what the level lets through', () => {
  const out = printed({ BELLOWS_LOG_LEVEL: 'warn' }, (logger) => {
    logger.log('routine', 'x');
    logger.warn('worth a look', 'x');
  });
  expect(out).not.toContain('routine');
  expect(out).toContain('worth a look');
});

it('refuses a level or format it does not know, naming it', () => {
  expect(() => loadConfig({ BELLOWS_LOG_LEVEL: 'verbose' })).toThrow('BELLOWS_LOG_LEVEL must be one of debug, info, warn, error, got "verbose"');
  expect(() => loadConfig({ BELLOWS_LOG_FORMAT: 'xml' })).toThrow('BELLOWS_LOG_FORMAT must be one of text, json, got "xml"');
});
