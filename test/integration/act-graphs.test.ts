import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobGraph } from '../../contract/jobs.contract';
import { isTerminal, type RunDetail, type TriggerRun } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

// Every example graph (test/fixtures/act, copied from the format's reference set) through the
// real server and agent, checked against test/fixtures/act/EXPECTED.md.

const fixtures = resolve('test/fixtures/act');
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'graph-runner', labels: 'os=linux' }] });
  await stack.answered(201, api.projects.create, { body: { slug: 'act', name: 'Graphs' } });
  expect((await stack.api.raw(api.secrets.put, { params: { slug: 'act', name: 'DEPLOY_TOKEN' }, body: { value: 'tok-9f8e7d6c' } })).status).toBe(204);
});

afterAll(async () => {
  await stack?.stop();
});

async function logText(jobId: number): Promise<string> {
  return (await stack.api.raw(api.jobs.logText, { params: { id: jobId }, query: { format: 'text' } })).text();
}

async function runGraph(name: string, content: string, trigger: TriggerRun = {}): Promise<{ run: RunDetail; log: string; stored: string }> {
  const put = await stack.api.call(api.pipelines.put, { params: { slug: 'act', name }, body: { content } });
  expect(put.kind).toBe('act');
  const triggered = await stack.answered(201, api.runs.trigger, { params: { slug: 'act', name }, body: trigger });
  const run = await finished(triggered.id);
  const log = await logText(run.jobs[0].id);
  const rows = await stack.sql<{ text: string }[]>`select text from log_chunks where job_id = ${run.jobs[0].id} order by seq`;
  return { run, log, stored: rows.map((r) => r.text).join('') };
}

async function finished(id: number): Promise<RunDetail> {
  return stack.waitFor(
    async () => {
      const run = await stack.api.call(api.runs.get, { params: { id } });
      return isTerminal(run.status) ? run : null;
    },
    { timeoutMs: 60_000, message: `run ${id} to finish` },
  );
}

function fixture(file: string): string {
  return readFileSync(join(fixtures, file), 'utf8');
}

async function graphOf(jobId: number): Promise<JobGraph> {
  return stack.api.call(api.jobs.graph, { params: { id: jobId } });
}

describe('the example graphs', () => {
  it('hello.act greets in green, keeps stderr, and finishes; every node is marked succeeded', async () => {
    const { run, log } = await runGraph('hello', fixture('hello.act'), { inputs: { name: 'Ada' } });
    expect(run.status).toBe('succeeded');
    // The graph reads ${{ inputs.name }}: the pipeline asks for it, and a trigger without it is refused.
    const pipeline = await stack.api.call(api.pipelines.get, { params: { slug: 'act', name: 'hello' } });
    expect(pipeline.inputs.name).toMatchObject({ required: true });
    const missing = await stack.request<{ error: { message: string } }>('POST', '/api/v1/projects/act/pipelines/hello/runs', { body: {} });
    expect(missing.status).toBe(422);
    expect(missing.body.error.message).toContain('input "name" is required');
    expect(log).toContain('\u001b[32mhello from Ada\u001b[0m');
    expect(log).toContain('to stderr');
    expect(log).toContain('finished');
    const graph = await graphOf(run.jobs[0].id);
    expect(graph.graph?.nodes?.map((n) => n.id)).toEqual(['start', 'greet', 'done']);
    expect(graph.activeNodes).toEqual([]);
    expect(graph.nodeStates).toMatchObject({ greet: 'succeeded', done: 'succeeded' });
    const nodes = await stack.sql<{ node: string | null }[]>`select distinct node from log_chunks where job_id = ${run.jobs[0].id} and stream <> 'system'`;
    expect(nodes.map((n) => n.node).sort()).toEqual(['done', 'greet']);
  });

  it('branch-env.act follows DEPLOY_TARGET', async () => {
    const prod = await runGraph('branch-env', fixture('branch-env.act'), { env: { DEPLOY_TARGET: 'production' } });
    expect(prod.run.status).toBe('succeeded');
    expect(prod.log).toContain('deploying to production');
    expect(prod.log).not.toContain('deploying to staging');
    const staging = await runGraph('branch-env', fixture('branch-env.act'), { env: { DEPLOY_TARGET: 'qa' } });
    expect(staging.log).toContain('deploying to staging');
    expect(staging.log).not.toContain('deploying to production');
  });

  it('concurrent.act runs its three branches and then the join', async () => {
    const { run, log } = await runGraph('concurrent', fixture('concurrent.act'));
    expect(run.status).toBe('succeeded');
    for (const line of ['lint-ok', 'unit-ok', 'docs-ok']) expect(log.indexOf(line)).toBeGreaterThan(-1);
    expect(log.indexOf('all three finished')).toBeGreaterThan(Math.max(log.indexOf('lint-ok'), log.indexOf('unit-ok'), log.indexOf('docs-ok')));
  });

  it('loop.act counts to three, then completes', async () => {
    const { run, log } = await runGraph('loop', fixture('loop.act'));
    expect(run.status).toBe('succeeded');
    const steps = ['step 1 of 3', 'step 2 of 3', 'step 3 of 3', 'loop-complete'].map((s) => log.indexOf(s));
    expect(steps.every((i) => i >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
  });

  it('fails.act fails, names the node and exit code, and never runs what follows', async () => {
    const { run, log } = await runGraph('fails', fixture('fails.act'));
    expect(run.status).toBe('failed');
    expect(log).toContain('compiling');
    expect(log).toContain('error: missing semicolon');
    expect(log).toMatch(/build.*exit code 3|exit code 3.*build/);
    expect(log).not.toContain('should-not-run');
    const graph = await graphOf(run.jobs[0].id);
    expect(graph.nodeStates).toMatchObject({ build: 'failed', never: 'skipped' });
  });

  it('recover.act routes the error to exec-err and succeeds', async () => {
    const { run, log } = await runGraph('recover', fixture('recover.act'));
    expect(run.status).toBe('succeeded');
    expect(log).toContain('trying');
    expect(log).toContain('recovered-after-error');
  });

  it('artifact.act uploads report.txt and a 1 MiB blob with the right checksums', async () => {
    const { run } = await runGraph('artifact', fixture('artifact.act'));
    expect(run.status).toBe('succeeded');
    const list = await stack.api.call(api.artifacts.list, { query: { runId: String(run.id) } });
    const byName = Object.fromEntries(list.artifacts.map((a) => [a.name, a]));
    expect(byName['report.txt']).toMatchObject({ size: 6, sha256: createHash('sha256').update('built\n').digest('hex') });
    expect(byName['blob.bin']).toMatchObject({ size: 1048576, sha256: '30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58' });
  });

  it('secret.act prints the secret masked and never stores it', async () => {
    const { run, log, stored } = await runGraph('secret', fixture('secret.act'));
    expect(run.status).toBe('succeeded');
    expect(log).toContain('token is ***');
    expect(stored).not.toContain('tok-9f8e7d6c');
  });

  it('group.act takes the yes branch of its nested graph', async () => {
    const { run, log } = await runGraph('group', fixture('group.act'));
    expect(run.status).toBe('succeeded');
    expect(log).toContain('group-took-yes');
    expect(log).not.toContain('group-took-no');
    const graph = await graphOf(run.jobs[0].id);
    expect(graph.nodeStates).toMatchObject({ yes: 'succeeded', no: 'skipped', 'gate/pick': 'succeeded' });
  });

  it('unknown-node.act is refused before anything runs — already at push, naming the node and its type', async () => {
    const put = await stack.request<{ error: { code: string; problems: string[] } }>('PUT', '/api/v1/projects/act/pipelines/unknown-node', { body: { content: fixture('unknown-node.act') } });
    expect(put.status).toBe(422);
    expect(put.body.error.code).toBe('invalid_pipeline');
    expect(put.body.error.problems).toEqual(['content: node teleport: unknown node type core/teleport@v1: this agent does not implement it']);
    const stored = await stack.request('GET', '/api/v1/projects/act/pipelines/unknown-node');
    expect(stored.status).toBe(404);
  });
});

describe('live graph and cancellation', () => {
  const barrier = (dir: string) => `
entry: start
nodes:
  - {id: start, type: core/start@v1, position: {x: 0, y: 0}}
  - {id: fan, type: core/concurrent-exec@v1, position: {x: 200, y: 0}, outputs: {"exec[0]": '', "exec[1]": '', "exec[2]": ''}}
${['a', 'b', 'c']
  .map(
    (id, i) =>
      `  - {id: ${id}, type: core/run@v1, position: {x: 400, y: ${i * 100}}, inputs: {script: "touch ${dir}/${id}; for i in $(seq 1 200); do [ -e ${dir}/a ] && [ -e ${dir}/b ] && [ -e ${dir}/c ] && echo ${id}-met && exit 0; sleep 0.05; done; exit 1"}}`,
  )
  .join('\n')}
  - {id: join, type: core/print@v1, position: {x: 600, y: 0}, inputs: {"values[0]": all-met}}
connections: []
executions:
  - {src: {node: start, port: exec}, dst: {node: fan, port: exec}}
  - {src: {node: fan, port: "exec[0]"}, dst: {node: a, port: exec}}
  - {src: {node: fan, port: "exec[1]"}, dst: {node: b, port: exec}}
  - {src: {node: fan, port: "exec[2]"}, dst: {node: c, port: exec}}
  - {src: {node: fan, port: exec-completed}, dst: {node: join, port: exec}}
`;

  it('runs concurrent branches at the same time: each waits for the others to have started', async () => {
    const dir = `/tmp/bellows-barrier-${process.pid}-${Date.now()}`;
    execSync(`mkdir -p ${dir}`);
    const { run, log } = await runGraph('barrier', barrier(dir));
    expect(run.status).toBe('succeeded');
    for (const line of ['a-met', 'b-met', 'c-met', 'all-met']) expect(log).toContain(line);
  });

  it('shows the executing node live, then stops every process of a cancelled concurrent graph', async () => {
    const content = fixture('concurrent.act').replace(/sleep 1; echo (\w+)-ok/g, 'echo $1-pid-$$$$; sleep 347; echo $1-ok');
    await stack.api.call(api.pipelines.put, { params: { slug: 'act', name: 'long-concurrent' }, body: { content } });
    const runId = (await stack.api.call(api.runs.trigger, { params: { slug: 'act', name: 'long-concurrent' }, body: {} })).id;
    const jobId = await stack.waitFor(async () => (await stack.api.call(api.runs.get, { params: { id: runId } })).jobs[0]?.id, { message: 'job created' });
    const live = await stack.waitFor(
      async () => {
        const graph = await graphOf(jobId);
        return ['lint', 'unit', 'docs'].every((node) => graph.activeNodes.includes(node)) ? graph : null;
      },
      { timeoutMs: 30_000, message: 'the three branches to be reported as executing' },
    );
    expect(live.nodeStates).toMatchObject({ lint: 'running', unit: 'running', docs: 'running' });
    const log = await stack.waitFor(
      async () => {
        const text = await logText(jobId);
        return (text.match(/-pid-\d+/g) ?? []).length === 3 ? text : null;
      },
      { message: 'the three branch shells to print their pids' },
    );
    const pids = [...log.matchAll(/-pid-(\d+)/g)].map((m) => Number(m[1]));

    expect((await stack.api.raw(api.runs.cancel, { params: { id: runId } })).status).toBe(200);
    const run = await finished(runId);
    expect(run.status).toBe('cancelled');
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return !execSync(`ps -o stat= -p ${pid}`).toString().includes('Z');
      } catch {
        return false;
      }
    };
    await stack.waitFor(() => pids.every((pid) => !alive(pid)), { timeoutMs: 20_000, message: 'every branch shell to be gone' });
    expect(execSync('ps -eo args').toString()).not.toMatch(/^sleep 347$/m);
    expect((await graphOf(jobId)).activeNodes).toEqual([]);
  });
});
