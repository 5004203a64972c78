import type { Sql } from '../../src/database/sql';
import { JobsRepository } from '../../src/jobs/jobs.repository';
import type { JobSpec } from '../../src/pipelines/pipeline-spec';

// Fixtures for the queue and job repository tests. The claim takes any queued job in the database
// whose labels the agent has, so every job of a scope requires the scope's own label: a test's
// agents (which carry that label) can never take another test's leftovers.

export type RunFixture = { runId: number; attempt: number; ids: Record<string, number> };

export type Scope = {
  label: string;
  slug: string;
  projectId: string;
  /** A run (attempt 1) whose jobs are created as the workflow does; each job also requires the scope's label. */
  run(jobs: (Partial<JobSpec> & { key: string })[], options?: { priority?: number }): Promise<RunFixture>;
  /** An online agent declaring the scope's label and `labels`; returns its id. */
  agent(labels?: string[]): Promise<string>;
  /** The labels an agent of this scope claims with. */
  labels(...extra: string[]): string[];
};

export function scopes(sql: Sql): () => Promise<Scope> {
  const jobs = new JobsRepository(sql);
  let scopeCount = 0;
  let agentCount = 0;
  return async () => {
    const n = ++scopeCount;
    const label = `scope-${n}`;
    const [project] = await sql<{ id: string }[]>`insert into projects (slug, name) values (${`p${n}`}, 'P') returning id`;
    const [pipeline] = await sql<{ id: string }[]>`insert into pipelines (project_id, name, latest_version) values (${project.id}, 'build', 1) returning id`;
    await sql`insert into pipeline_versions (pipeline_id, version, kind, content, sha256, timeout_minutes) values (${pipeline.id}, 1, 'script', 'true', 'x', 5)`;
    let runNumber = 0;
    return {
      label,
      slug: `p${n}`,
      projectId: project.id,
      labels: (...extra) => [label, ...extra],
      async run(specs, options = {}) {
        const [run] = await sql<{ id: number }[]>`
          insert into runs (project_id, pipeline_id, pipeline_version, number, ref, priority)
          values (${project.id}, ${pipeline.id}, 1, ${++runNumber}, 'main', ${options.priority ?? 0}) returning id`;
        await sql`insert into run_attempts (run_id, attempt, workflow_id) values (${run.id}, 1, ${`run-${run.id}-1`})`;
        const states = await jobs.createForAttempt(
          run.id,
          1,
          specs.map((spec) => ({
            name: spec.key,
            kind: 'script',
            content: 'true',
            needs: [],
            matrix: {},
            env: {},
            timeoutMinutes: 5,
            carriedFromJobId: null,
            ...spec,
            retry: spec.retry ?? null,
            approvers: spec.approvers ?? [],
            concurrency: null,
            labels: [label, ...(spec.labels ?? [])],
          })),
          { maxTries: 3, cancelled: false, runConcurrency: null },
        );
        return { runId: run.id, attempt: 1, ids: Object.fromEntries(states.map((state) => [state.key, state.id])) };
      },
      async agent(labels = []) {
        const a = ++agentCount;
        const [agent] = await sql<{ id: string }[]>`
          insert into agents (name, secret_hash, declared_labels) values (${`${label}-agent-${a}`}, ${`${label}-hash-${a}`}, ${[label, ...labels]}) returning id`;
        return agent.id;
      },
    };
  };
}
