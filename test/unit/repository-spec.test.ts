import { describe, expect, it } from 'vitest';
import { isPipelineFile, kindOfPath } from '../../src/pipelines/pipeline-spec';
import { checkRepository, credentialsFor, credentialsProblem } from '../../src/repositories/repository-spec';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n';

describe('repository settings', () => {
  it('checks every field’s type, since a JSON body may hold anything', () => {
    expect(checkRepository({ url: 'https://h/x.git', credentialsSecret: ['GIT_TOKEN'] }, false)).toEqual({ ok: false, problem: expect.stringContaining('credentialsSecret must be a string') });
    expect(checkRepository({ url: 'https://h/x.git', defaultBranch: 7 }, false)).toEqual({ ok: false, problem: expect.stringContaining('defaultBranch must be a string') });
    expect(checkRepository({ url: 42 }, false)).toEqual({ ok: false, problem: 'repository.url is required' });
  });

  it('refuses credentials where the transport takes none', () => {
    expect(checkRepository({ url: 'git://h/x.git', credentialsSecret: 'TOKEN' }, false)).toEqual({ ok: false, problem: expect.stringContaining('git:// URL, which takes no credentials') });
    expect(checkRepository({ url: 'file:///srv/x.git', credentialsSecret: 'TOKEN' }, true)).toEqual({ ok: false, problem: expect.stringContaining('file:// URL') });
    expect(checkRepository({ url: 'ssh://git@h/x.git', credentialsSecret: 'DEPLOY_KEY' }, false)).toMatchObject({ ok: true });
  });

  it('says why a secret cannot be a URL’s credentials, and then gives none', () => {
    expect(credentialsProblem('https://h/x.git', KEY)).toMatch(/private key, but the repository URL is http\(s\)/);
    expect(credentialsFor('https://h/x.git', KEY)).toBeUndefined();
    expect(credentialsProblem('git@h:x.git', 'ghp_token')).toMatch(/ssh, which needs a private key/);
    expect(credentialsFor('git@h:x.git', 'ghp_token')).toBeUndefined();
    expect(credentialsProblem('https://h/x.git', 'ann:pw')).toBeUndefined();
    expect(credentialsProblem('git@h:x.git', KEY)).toBeUndefined();
  });
});

describe('pipeline files', () => {
  it('have one kind rule: .act files are graphs (any case), everything else a script', () => {
    expect(kindOfPath('.bellows/build.act')).toBe('act');
    expect(kindOfPath('ci/BUILD.ACT')).toBe('act');
    expect(kindOfPath('ci/build.yml')).toBe('script');
    expect(['a.act', 'b.sh', 'c.BASH', 'd.yml', 'e.act.bak'].filter(isPipelineFile)).toEqual(['a.act', 'b.sh', 'c.BASH']);
  });
});
