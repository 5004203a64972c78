import { describe, expect, it } from 'vitest';
import { decide, defaultEvents, globMatches, shortRef } from '../../src/hooks/hook-payloads';

const SHA = '9fceb02d0ae598e95dc970b74767f19372d61af8';
const all = { events: [], branches: [] };

describe('refs and globs', () => {
  it('shortens branch and tag refs', () => {
    expect(shortRef('refs/heads/main')).toBe('main');
    expect(shortRef('refs/heads/release/1.0')).toBe('release/1.0');
    expect(shortRef('refs/tags/v1')).toBe('v1');
    expect(shortRef('main')).toBe('main');
  });

  it('matches * within a segment, ** across, and the rest literally', () => {
    expect(globMatches('release/*', 'release/1.0')).toBe(true);
    expect(globMatches('release/*', 'release/1/hotfix')).toBe(false);
    expect(globMatches('release/**', 'release/1/hotfix')).toBe(true);
    expect(globMatches('v?.*', 'v1.2')).toBe(true);
    expect(globMatches('main', 'main2')).toBe(false);
    expect(globMatches('a.b', 'axb')).toBe(false);
    expect(globMatches('feat(x)', 'feat(x)')).toBe(true);
  });
});

describe('GitHub payloads', () => {
  const push = (ref: string, extra: Record<string, unknown> = {}) => ({ ref, after: SHA, pusher: { name: 'octocat' }, ...extra });

  it('maps a push onto ref, commit and actor', () => {
    expect(decide('github', 'push', push('refs/heads/main'), { events: ['push'], branches: [] })).toEqual({
      kind: 'run',
      ref: 'main',
      commitSha: SHA,
      actor: 'octocat',
      inputs: {},
    });
    expect(decide('github', 'push', push('refs/tags/v1'), all)).toMatchObject({ kind: 'run', ref: 'v1' });
  });

  it('answers ping before any filter', () => {
    expect(decide('github', 'ping', { zen: 'x' }, { events: ['push'], branches: ['main'] })).toEqual({ kind: 'ping' });
  });

  it('skips filtered events and branches, and deleted refs', () => {
    const filters = { events: defaultEvents('github'), branches: ['main', 'release/*'] };
    expect(decide('github', 'issues', {}, filters)).toMatchObject({ kind: 'skip' });
    expect(decide('github', 'push', push('refs/heads/feature/x'), filters)).toMatchObject({ kind: 'skip' });
    expect(decide('github', 'push', push('refs/heads/release/2'), filters)).toMatchObject({ kind: 'run', ref: 'release/2' });
    expect(decide('github', 'push', push('refs/heads/main', { deleted: true, after: '0'.repeat(40) }), filters)).toMatchObject({ kind: 'skip' });
  });

  it('builds the head of opened or updated pull requests, filtered by their base branch', () => {
    const pr = (action: string, base = 'main') => ({ action, pull_request: { head: { ref: 'feature/y', sha: SHA }, base: { ref: base } }, sender: { login: 'dev' } });
    const filters = { events: ['pull_request'], branches: ['main'] };
    expect(decide('github', 'pull_request', pr('synchronize'), filters)).toEqual({ kind: 'run', ref: 'feature/y', commitSha: SHA, actor: 'dev', inputs: {} });
    expect(decide('github', 'pull_request', pr('closed'), filters)).toMatchObject({ kind: 'skip' });
    expect(decide('github', 'pull_request', pr('opened', 'develop'), filters)).toMatchObject({ kind: 'skip' });
  });

  it('calls a push without a ref or a non-object body invalid', () => {
    expect(decide('github', 'push', { after: SHA }, all)).toMatchObject({ kind: 'invalid' });
    expect(decide('github', 'push', [1, 2], all)).toMatchObject({ kind: 'invalid' });
  });
});

describe('Standard Webhooks and token payloads', () => {
  it('reads ref, commit and inputs from data', () => {
    expect(decide('standard', 'build.requested', { type: 'build.requested', data: { ref: 'refs/heads/dev', commitSha: SHA, inputs: { a: 'b' } } }, all)).toEqual({
      kind: 'run',
      ref: 'dev',
      commitSha: SHA,
      actor: null,
      inputs: { a: 'b' },
    });
  });

  it('leaves the ref to the pipeline default when absent and rejects badly typed fields', () => {
    expect(decide('token', 'trigger', {}, all)).toMatchObject({ kind: 'run', ref: undefined, commitSha: null });
    expect(decide('token', 'trigger', { ref: 5 }, all)).toMatchObject({ kind: 'invalid' });
    expect(decide('token', 'trigger', { commitSha: 'zz' }, all)).toMatchObject({ kind: 'invalid' });
    expect(decide('token', 'trigger', { inputs: { a: 1 } }, all)).toMatchObject({ kind: 'invalid' });
  });

  it('applies event filters to the body type', () => {
    expect(decide('standard', 'invoice.paid', { type: 'invoice.paid' }, { events: ['build.*'], branches: [] })).toMatchObject({ kind: 'skip' });
  });
});
