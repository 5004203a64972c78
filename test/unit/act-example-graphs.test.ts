import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAct, validateAct } from '../../agent/act';
import { createSecretMasker } from '../../agent/secret-masker';
import { fakeHost, runText } from './act-test-host';

const GRAPHS = '/work/shared/graphs';
const read = (name: string): string => readFileSync(join(GRAPHS, name), 'utf8');

describe('example graphs (/work/shared/graphs)', () => {
  it('every example except unknown-node.act validates', () => {
    for (const file of readdirSync(GRAPHS).filter((name) => name.endsWith('.act'))) {
      const { graph, problems } = parseAct(read(file));
      expect(problems, file).toEqual([]);
      const validation = validateAct(graph);
      if (file === 'unknown-node.act') expect(validation.length).toBeGreaterThan(0);
      else expect(validation, file).toEqual([]);
    }
  });

  it('hello.act greets in green, writes to stderr, prints finished', async () => {
    const host = fakeHost({ inputs: { name: 'Ada' } });
    const result = await runText(read('hello.act'), host);
    expect(result).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(host.chunks).toContainEqual({ node: 'greet', stream: 'stdout', text: '\x1b[32mhello from Ada\x1b[0m\n' });
    expect(host.chunks).toContainEqual({ node: 'greet', stream: 'stderr', text: 'to stderr\n' });
    expect(host.text('done')).toContain('finished');
    expect(host.activeHistory.at(-1)).toEqual([]);
    expect(host.states).toEqual([
      { node: 'start', state: 'running' },
      { node: 'start', state: 'succeeded' },
      { node: 'greet', state: 'running' },
      { node: 'greet', state: 'succeeded' },
      { node: 'done', state: 'running' },
      { node: 'done', state: 'succeeded' },
    ]);
  });

  it('branch-env.act deploys to production or staging by DEPLOY_TARGET', async () => {
    const prod = fakeHost();
    prod.env.DEPLOY_TARGET = 'production';
    expect((await runText(read('branch-env.act'), prod)).status).toBe('succeeded');
    expect(prod.text()).toContain('deploying to production');
    expect(prod.text()).not.toContain('deploying to staging');

    const staging = fakeHost();
    expect((await runText(read('branch-env.act'), staging)).status).toBe('succeeded');
    expect(staging.text()).toContain('deploying to staging');
    expect(staging.text()).not.toContain('deploying to production');
  });

  it('concurrent.act runs the three scripts at once, then reports completion', async () => {
    const host = fakeHost();
    const result = await runText(read('concurrent.act'), host);
    expect(result.status).toBe('succeeded');
    const text = host.text();
    for (const word of ['lint-ok', 'unit-ok', 'docs-ok']) expect(text.indexOf(word)).toBeLessThan(text.indexOf('all three finished'));
    // At once: the engine reported all three running together.
    expect(host.activeHistory.some((set) => ['docs', 'lint', 'unit'].every((id) => set.includes(id)))).toBe(true);
  });

  it('loop.act prints three steps and then loop-complete', async () => {
    const host = fakeHost();
    expect((await runText(read('loop.act'), host)).status).toBe('succeeded');
    const text = host.text();
    const positions = ['step 1 of 3', 'step 2 of 3', 'step 3 of 3', 'loop-complete'].map((part) => text.indexOf(part));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('fails.act fails naming node build and exit code 3, never running what follows', async () => {
    const host = fakeHost();
    const result = await runText(read('fails.act'), host);
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(3);
    expect(result.error).toMatch(/build/);
    expect(result.error).toMatch(/exit code 3/);
    const text = host.text();
    expect(text).toContain('compiling');
    expect(text).toContain('error: missing semicolon');
    expect(host.chunks.some((chunk) => chunk.stream === 'system' && chunk.node === 'build' && /exit code 3/.test(chunk.text))).toBe(true);
    expect(text).not.toContain('should-not-run');
    expect(host.states).toContainEqual({ node: 'build', state: 'failed' });
    expect(host.states.some((entry) => entry.node === 'never')).toBe(false);
  });

  it('recover.act continues on exec-err', async () => {
    const host = fakeHost();
    expect(await runText(read('recover.act'), host)).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(host.text()).toContain('trying');
    expect(host.text()).toContain('recovered-after-error');
  });

  it('artifact.act uploads report.txt and blob.bin with the right bytes', async () => {
    const host = fakeHost();
    expect((await runText(read('artifact.act'), host)).status).toBe('succeeded');
    expect(host.uploads.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 }))).toEqual([
      { name: 'report.txt', bytes: 6, sha256: createHash('sha256').update('built\n').digest('hex') },
      { name: 'blob.bin', bytes: 1048576, sha256: '30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58' },
    ]);
  });

  it('secret.act prints the token, which masking turns into ***', async () => {
    const host = fakeHost({ secrets: { DEPLOY_TOKEN: 's3cr3t-value' } });
    expect((await runText(read('secret.act'), host)).status).toBe('succeeded');
    const masker = createSecretMasker(Object.values(host.secrets));
    const masked = host.text('use-secret');
    expect(masker.mask(masked)).toBe('token is ***\n');
  });

  it('secret.act finds a secret given with a lower-cased key (ACT_INPUT_SECRET_* convention)', async () => {
    const host = fakeHost({ secrets: { deploy_token: 'lower-key-secret' } });
    expect((await runText(read('secret.act'), host)).status).toBe('succeeded');
    expect(host.text()).toContain('token is lower-key-secret');
  });

  it('group.act takes the yes branch through the nested graph', async () => {
    const host = fakeHost();
    expect((await runText(read('group.act'), host)).status).toBe('succeeded');
    expect(host.text()).toContain('group-took-yes');
    expect(host.text()).not.toContain('group-took-no');
    expect(host.states).toContainEqual({ node: 'gate/pick', state: 'succeeded' });
    expect(host.activeHistory.some((set) => set.includes('gate/pick'))).toBe(true);
  });

  it('unknown-node.act fails before running anything, naming node and type', async () => {
    const host = fakeHost();
    const result = await runText(read('unknown-node.act'), host);
    expect(result.status).toBe('failed');
    expect(result.error).toContain('teleport');
    expect(result.error).toContain('core/teleport@v1');
    expect(host.states).toEqual([]);
  });
});
