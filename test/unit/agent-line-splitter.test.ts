import { afterEach, describe, expect, it, vi } from 'vitest';
import { IdleFlushingSplitter, LineSplitter, splitByBytes } from '../../agent/line-splitter';
import { createSecretMasker } from '../../agent/secret-masker';

describe('LineSplitter', () => {
  it('emits complete lines with their newline and buffers the rest', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('one\ntw')).toEqual(['one\n']);
    expect(splitter.push('o\r\nthree')).toEqual(['two\r\n']);
    expect(splitter.pending).toBe('three');
    expect(splitter.end()).toEqual(['three']);
    expect(splitter.end()).toEqual([]);
  });

  it('keeps ANSI colour codes and carriage returns untouched', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('\u001b[32mok\u001b[0m\r50%\r100%\n')).toEqual(['\u001b[32mok\u001b[0m\r50%\r100%\n']);
  });

  it('flushes a partial line on demand and continues the line afterwards', () => {
    const splitter = new LineSplitter();
    splitter.push('downloading 10%');
    expect(splitter.flushPartial()).toEqual(['downloading 10%']);
    expect(splitter.push(' 20%\n')).toEqual([' 20%\n']);
  });

  it('masks secrets in lines, also when they arrive in pieces', () => {
    const splitter = new LineSplitter({ masker: createSecretMasker(['topsecret']) });
    expect(splitter.push('token: top')).toEqual([]);
    expect(splitter.push('secret!\n')).toEqual(['token: ***!\n']);
  });

  it('never flushes a partial line in a way that splits a secret', () => {
    const splitter = new LineSplitter({ masker: createSecretMasker(['topsecret']) });
    splitter.push('token: tops');
    expect(splitter.flushPartial()).toEqual(['token: ']);
    expect(splitter.pending).toBe('tops');
    expect(splitter.push('ecret\n')).toEqual(['***\n']);
  });

  it('splits lines longer than the limit', () => {
    const splitter = new LineSplitter({ maxLineBytes: 4 });
    expect(splitter.push('abcdefghij\n')).toEqual(['abcd', 'efgh', 'ij\n']);
  });

  it('does not let output without newlines grow without bound', () => {
    const splitter = new LineSplitter({ maxLineBytes: 8 });
    expect(splitter.push('0123456789')).toEqual(['01234567', '89']);
    expect(splitter.pending).toBe('');
  });

  it('masks before splitting so a long secret is never cut in two', () => {
    const splitter = new LineSplitter({ maxLineBytes: 8, masker: createSecretMasker(['ABCDEFGHIJ']) });
    expect(splitter.push('xxABCDEFGHIJyy\n').join('')).toBe('xx***yy\n');
  });
});

describe('splitByBytes', () => {
  it('never cuts a multi-byte character', () => {
    const parts = splitByBytes('ééé€', 3);
    expect(parts.join('')).toBe('ééé€');
    for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(3);
    expect(parts).not.toContain('\ufffd');
  });
});

describe('IdleFlushingSplitter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('flushes a partial line after the idle delay, not before', () => {
    vi.useFakeTimers();
    const out: string[] = [];
    const splitter = new IdleFlushingSplitter((text) => out.push(text), { idleFlushMs: 250 });
    splitter.write('line\n[=====');
    expect(out).toEqual(['line\n']);
    vi.advanceTimersByTime(200);
    splitter.write('===');
    vi.advanceTimersByTime(200);
    expect(out).toEqual(['line\n']);
    vi.advanceTimersByTime(60);
    expect(out).toEqual(['line\n', '[========']);
    splitter.write('] done\n');
    splitter.end();
    expect(out).toEqual(['line\n', '[========', '] done\n']);
  });
});
