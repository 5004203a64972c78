import { describe, expect, it } from 'vitest';
import { createSecretMasker, redact } from '../../agent/secret-masker';

describe('secret masker', () => {
  it('masks every occurrence of each secret', () => {
    const masker = createSecretMasker(['hunter2', 's3cr3t']);
    expect(masker.mask('pw=hunter2 and s3cr3t, again hunter2\n')).toBe('pw=*** and ***, again ***\n');
  });

  it('ignores empty and too-short values so ordinary text stays readable', () => {
    const masker = createSecretMasker(['', 'a', 'on']);
    expect(masker.mask('a lot going on')).toBe('a lot going on');
  });

  it('prefers the longest secret when one contains another', () => {
    const masker = createSecretMasker(['abc', 'abcdef']);
    expect(masker.mask('xabcdefx abc')).toBe('x***x ***');
  });

  it('masks overlapping secrets as one region so no fragment of either leaks', () => {
    const masker = createSecretMasker(['abcdef', 'defghi']);
    expect(masker.mask('[abcdefghi]')).toBe('[***]');
    // Longest-first replacement alone would have left "ghi" of the second secret visible.
    expect(masker.mask('abcdefgh')).toBe('***gh');
  });

  it('masks overlapping occurrences of the same secret', () => {
    const masker = createSecretMasker(['aba']);
    expect(masker.mask('ababa!')).toBe('***!');
    expect(masker.mask('aba aba')).toBe('*** ***');
  });

  it('masks each line of a multi-line secret on its own', () => {
    const key = '-----BEGIN KEY-----\nMIIBOgIBAAJBAK\n-----END KEY-----';
    const masker = createSecretMasker([key]);
    expect(masker.mask('MIIBOgIBAAJBAK\n')).toBe('***\n');
  });

  it('keeps ANSI escapes and regex metacharacters literal', () => {
    const masker = createSecretMasker(['a.b*c']);
    expect(masker.mask('\u001b[31ma.b*c\u001b[0m axbbc')).toBe('\u001b[31m***\u001b[0m axbbc');
  });

  describe('safeCut', () => {
    it('holds back a tail that could be the start of a secret', () => {
      const masker = createSecretMasker(['secret-value']);
      expect(masker.safeCut('progress 50% secr')).toBe('progress 50% '.length);
      expect(masker.safeCut('progress 50%')).toBe('progress 50%'.length);
    });

    it('moves the cut before a complete secret that straddles it', () => {
      const masker = createSecretMasker(['abcd', 'cdxyz']);
      // "cd" may start "cdxyz", but cutting there would split "abcd" across two chunks.
      expect(masker.safeCut('..abcd')).toBe(2);
    });
  });
});

describe('redact', () => {
  it.each([
    ['an https user and token', 'fatal: https://alice:t0ken@example.test/r.git/', 'fatal: https://***@example.test/r.git/'],
    ['an https token alone', 'see http://ghp_abcdef@example.test/x', 'see http://***@example.test/x'],
    ['user-info up to the last @ before the path', 'https://bob:p@ss@host/x', 'https://***@host/x'],
    ['an ssh password, the login kept', 'ssh://git:hunter2@host/repo', 'ssh://git:***@host/repo'],
    ['an ssh login alone (no secret)', 'ssh://git@host/repo', 'ssh://git@host/repo'],
    ['an ssh password with @ in it', 'ssh://git:p@ss@host/repo', 'ssh://git:***@host/repo'],
    ['the scp form', 'git@host:org/repo.git', 'git@host:org/repo.git'],
    ['an @ in the path', 'https://example.test:8443/path@v1 stays', 'https://example.test:8443/path@v1 stays'],
    ['a file URL', 'file:///srv/a@b/repo.git', 'file:///srv/a@b/repo.git'],
    ['two URLs in one line', 'https://a:x1@h1/ and git://u:x2@h2/', 'https://***@h1/ and git://u:***@h2/'],
  ])('%s', (_what, text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it('masks given secrets too, ignoring ones too short to mask', () => {
    expect(redact('token s3cret-value and s3cret-value', ['s3cret-value', 'ab'])).toBe('token *** and ***');
  });
});
