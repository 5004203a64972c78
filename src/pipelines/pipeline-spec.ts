import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import {
  RETRY_BACKOFF_SECONDS,
  RETRY_MAX_TRIES,
  TIMEOUT_MINUTES,
  type JobRetry,
  JOB_KINDS,
  type InputDefinition,
  type JobDefinition,
  type MatrixValue,
  type PipelineDefinition as PipelineDefinitionSchema,
  type PipelineKind,
} from '../../contract/pipelines.contract';
import { parseAct, validateAct } from '../../agent/act';
import { LABEL_PATTERN, LABEL_RULE } from '../../contract/agent-protocol.contract';
import type { JobKind } from '../../contract/jobs.contract';
import { RETRY_REASONS, type RetryPolicy } from '../../workflows/retry-policy';
import type { ConcurrencyDefinition } from '../../contract/concurrency.contract';
import { validateConcurrency } from '../concurrency/concurrency-policy';

// Pure rules for pipeline definitions and how a version expands into jobs.

export type { InputDefinition, JobDefinition, MatrixValue } from '../../contract/pipelines.contract';

/** What a pipeline version stores (the contract's shape, as pushed and checked). */
export type PipelineDefinition = z.output<typeof PipelineDefinitionSchema>;

/** An executable kind, or `approval`: a gate no agent runs (it waits for a person's decision). */
export type { JobKind };

export type JobSpec = {
  key: string;
  name: string;
  kind: JobKind;
  content: string;
  labels: string[];
  needs: string[];
  matrix: Record<string, string>;
  env: Record<string, string>;
  timeoutMinutes: number;
  retry: RetryPolicy | null;
  /** Approval jobs: token names that may decide (empty: anyone with trigger scope). */
  approvers: string[];
  /** The job's own group as declared (its placeholders are filled in per run). */
  concurrency: ConcurrencyDefinition | null;
};

// The contract's wire shape and the workflow's policy type are one shape: this fails to compile if they drift.
const retryShapesAgree = (retry: JobRetry): RetryPolicy => retry;
void retryShapesAgree;

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const JOB_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,99}$/;
const MAX_MATRIX_COMBINATIONS = 256;
const MAX_JOBS = 500;

/**
 * `act` when the content is a YAML graph (entry + nodes), `script` otherwise. Content with
 * top-level `entry:` and `nodes:` keys is a graph even when its YAML is broken, so the mistake is
 * reported instead of the YAML being run as a shell script.
 */
export function inferKind(content: string): PipelineKind {
  try {
    const doc: unknown = parseYaml(content);
    if (doc && typeof doc === 'object' && 'nodes' in doc && 'entry' in doc) return 'act';
  } catch {
    if (/^entry:/m.test(content) && /^nodes:/m.test(content)) return 'act';
  }
  return 'script';
}

/** A repository file's kind by its name: `.act` files are graphs, anything else a script. */
export function kindOfPath(path: string): PipelineKind {
  return /\.act$/i.test(path) ? 'act' : 'script';
}

/** The files under .bellows/ the project page offers to run: graphs and shell scripts. */
export function isPipelineFile(path: string): boolean {
  return /\.(act|sh|bash)$/i.test(path);
}

const INPUT_REFERENCE = /\$\{\{\s*inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/**
 * The run inputs a graph reads (`${{ inputs.NAME }}`), declared or not: a graph without the input
 * reads it as empty, which is rarely meant, so such inputs become required ones the trigger checks and
 * the Run dialog asks for. Only the top level counts: inside a group, `inputs.NAME` is the group's input.
 */
export function withGraphInputs(def: PipelineDefinition): Record<string, InputDefinition> {
  const contents = [def.kind === 'act' ? def.content : null, ...(def.jobs ?? []).map((job) => ((job.kind ?? (job.content !== undefined ? inferKind(job.content) : def.kind)) === 'act' ? (job.content ?? def.content) : null))];
  const inputs = { ...def.inputs };
  for (const content of contents) {
    if (content === null) continue;
    for (const name of topLevelInputReferences(content)) {
      inputs[name] ??= { required: true, description: `read by the graph as \${{ inputs.${name} }}`, fromGraph: true };
    }
  }
  return inputs;
}

function topLevelInputReferences(content: string): string[] {
  const { graph } = parseAct(content);
  const texts = graph.nodes.filter((node) => node.type !== 'core/comment@v1').flatMap((node) => Object.values(node.inputs).filter((value): value is string => typeof value === 'string'));
  return [...new Set(texts.flatMap((text) => [...text.matchAll(INPUT_REFERENCE)].map((match) => match[1])))];
}

/** Every problem with a definition, so one answer can name them all. */
export function validateDefinition(def: PipelineDefinition): string[] {
  const problems: string[] = [];
  // A repository pipeline's content is checked when a run reads it at its commit.
  if (def.kind === 'act' && def.path === null) problems.push(...validateActShape(def.content, 'content'));
  problems.push(...validateLabels(def.labels, 'labels'), ...validateMatrix(def.matrix, 'matrix'), ...validateEnv(def.env, 'env'));
  for (const [name, input] of Object.entries(def.inputs)) {
    if (!ENV_NAME_PATTERN.test(name)) problems.push(`inputs: "${name}" is not a valid input name (letters, digits, underscore)`);
    if (input === null || typeof input !== 'object') problems.push(`inputs.${name}: must be an object like {required: true, default: "x"}`);
  }
  const declaredInputs = Object.keys(def.inputs).filter((name) => !def.inputs[name]?.fromGraph);
  if (def.concurrency !== null && def.concurrency !== undefined) problems.push(...validateConcurrency(def.concurrency, 'concurrency', { kind: 'pipeline' }, declaredInputs));
  if (def.jobs) problems.push(...validateJobs(def));
  if (problems.length === 0) {
    const count = expandJobs(def).length;
    if (count > MAX_JOBS) problems.push(`the pipeline expands to ${count} jobs; at most ${MAX_JOBS} are allowed`);
  }
  return problems;
}

/** The graph validator the agent runs, so a broken graph is refused when it is pushed, not when it runs. */
function validateActShape(content: string, where: string): string[] {
  const { graph } = parseAct(content);
  return validateAct(graph).map((problem) => `${where}: ${problem.node !== undefined ? `node ${problem.node}: ` : ''}${problem.message}`);
}

function validateLabels(labels: string[], where: string): string[] {
  return labels.filter((l) => !LABEL_PATTERN.test(l)).map((l) => `${where}: "${l}" is not a label (${LABEL_RULE})`);
}

function validateEnv(env: Record<string, string>, where: string): string[] {
  return Object.entries(env).flatMap(([key, value]) => [
    ...(ENV_NAME_PATTERN.test(key) ? [] : [`${where}: "${key}" is not a valid environment variable name`]),
    ...(typeof value === 'string' ? [] : [`${where}.${key}: must be a string`]),
  ]);
}

function validateMatrix(matrix: Record<string, MatrixValue[]>, where: string): string[] {
  const problems: string[] = [];
  let combinations = 1;
  for (const [key, values] of Object.entries(matrix)) {
    if (!ENV_NAME_PATTERN.test(key)) problems.push(`${where}: "${key}" is not a valid matrix key`);
    if (!Array.isArray(values) || values.length === 0) {
      problems.push(`${where}.${key}: must be a non-empty list of values`);
      continue;
    }
    if (values.some((v) => !['string', 'number', 'boolean'].includes(typeof v))) problems.push(`${where}.${key}: values must be strings, numbers or booleans`);
    combinations *= values.length;
  }
  if (combinations > MAX_MATRIX_COMBINATIONS) problems.push(`${where}: ${combinations} combinations; at most ${MAX_MATRIX_COMBINATIONS} are allowed`);
  return problems;
}

function validateJobs(def: PipelineDefinition): string[] {
  const jobs = def.jobs ?? [];
  const problems: string[] = [];
  if (jobs.length === 0) problems.push('jobs: must list at least one job when present');
  const names = new Set<string>();
  for (const [i, job] of jobs.entries()) {
    const where = `jobs[${i}]`;
    if (typeof job?.name !== 'string' || !JOB_NAME_PATTERN.test(job.name)) {
      problems.push(`${where}.name: required; letters, digits, spaces, dot, dash or underscore`);
      continue;
    }
    if (names.has(job.name)) problems.push(`${where}.name: "${job.name}" is used twice`);
    names.add(job.name);
    if (job.kind !== undefined && !(JOB_KINDS as readonly unknown[]).includes(job.kind)) problems.push(`${where}.kind: must be one of ${JOB_KINDS.join(', ')}`);
    if (job.kind === 'approval') {
      problems.push(...validateApproval(job, where));
      continue;
    }
    if (job.approvers !== undefined) problems.push(`${where}.approvers: only approval jobs (kind: approval) have approvers`);
    if (job.content !== undefined && typeof job.content !== 'string') problems.push(`${where}.content: must be a string`);
    const kind = job.kind ?? (job.content !== undefined ? inferKind(job.content) : def.kind);
    if (kind === 'act' && job.content !== undefined) problems.push(...validateActShape(job.content, `${where}.content`));
    problems.push(...validateLabels(job.labels ?? [], `${where}.labels`), ...validateMatrix(job.matrix ?? {}, `${where}.matrix`), ...validateEnv(job.env ?? {}, `${where}.env`));
    if (job.timeoutMinutes !== undefined && !(Number.isInteger(job.timeoutMinutes) && job.timeoutMinutes >= TIMEOUT_MINUTES.min && job.timeoutMinutes <= TIMEOUT_MINUTES.max)) {
      problems.push(`${where}.timeoutMinutes: an integer from ${TIMEOUT_MINUTES.min} to ${TIMEOUT_MINUTES.max}`);
    }
    if (job.retry !== undefined) problems.push(...validateRetry(job.retry, `${where}.retry`));
    if (job.concurrency !== undefined) {
      const matrixKeys = Object.keys({ ...def.matrix, ...(job.matrix ?? {}) });
      const declaredInputs = Object.keys(def.inputs).filter((name) => !def.inputs[name]?.fromGraph);
      problems.push(...validateConcurrency(job.concurrency, `${where}.concurrency`, { kind: 'job', matrixKeys }, declaredInputs));
    }
  }
  for (const [i, job] of jobs.entries()) {
    for (const need of job?.needs ?? []) {
      if (!names.has(need)) problems.push(`jobs[${i}].needs: no job named "${need}"`);
      if (need === job.name) problems.push(`jobs[${i}].needs: a job cannot need itself`);
    }
  }
  const cycle = findCycle(jobs);
  if (cycle) problems.push(`jobs: "needs" form a cycle: ${cycle.join(' -> ')}`);
  return problems;
}

/** An approval job runs nothing: it takes needs, approvers and a timeout, and nothing an agent would use. */
function validateApproval(job: JobDefinition, where: string): string[] {
  const problems: string[] = [];
  for (const field of ['content', 'labels', 'matrix', 'env', 'retry', 'concurrency'] as const) {
    if (job[field] !== undefined) problems.push(`${where}.${field}: an approval job runs nothing, so it takes no ${field}`);
  }
  const approvers: unknown = job.approvers;
  if (approvers !== undefined && !(Array.isArray(approvers) && approvers.length > 0 && approvers.every((name) => typeof name === 'string' && name.trim() !== ''))) {
    problems.push(`${where}.approvers: a non-empty list of token names`);
  }
  if (job.timeoutMinutes !== undefined && !(Number.isInteger(job.timeoutMinutes) && job.timeoutMinutes >= TIMEOUT_MINUTES.min && job.timeoutMinutes <= APPROVAL_TIMEOUT_MAX_MINUTES)) {
    problems.push(`${where}.timeoutMinutes: an integer from ${TIMEOUT_MINUTES.min} to ${APPROVAL_TIMEOUT_MAX_MINUTES} (30 days)`);
  }
  return problems;
}

/** Approvals wait for people, so they may wait longer than any job may run (3 days): 30 days. */
export const APPROVAL_TIMEOUT_MAX_MINUTES = 43_200;

export function validateRetry(retry: unknown, where: string): string[] {
  if (!retry || typeof retry !== 'object' || Array.isArray(retry)) return [`${where}: must be an object like {maxTries: 3}`];
  const { exitCodes, reasons, maxTries, backoffSeconds, ...rest } = retry as Record<string, unknown>;
  const problems = Object.keys(rest).map((key) => `${where}.${key}: unknown field (known: exitCodes, reasons, maxTries, backoffSeconds)`);
  if (!(Number.isInteger(maxTries) && (maxTries as number) >= RETRY_MAX_TRIES.min && (maxTries as number) <= RETRY_MAX_TRIES.max)) {
    problems.push(`${where}.maxTries: required; an integer from ${RETRY_MAX_TRIES.min} to ${RETRY_MAX_TRIES.max} (tries in all, the first included)`);
  }
  if (exitCodes !== undefined && !(Array.isArray(exitCodes) && exitCodes.length > 0 && exitCodes.every((code) => Number.isInteger(code) && code >= 1 && code <= 255))) {
    problems.push(`${where}.exitCodes: a non-empty list of exit codes from 1 to 255`);
  }
  if (reasons !== undefined && !(Array.isArray(reasons) && reasons.length > 0 && reasons.every((reason) => (RETRY_REASONS as readonly unknown[]).includes(reason)))) {
    problems.push(`${where}.reasons: a non-empty list of ${RETRY_REASONS.join(', ')}`);
  }
  if (backoffSeconds !== undefined && !(Number.isInteger(backoffSeconds) && (backoffSeconds as number) >= 0 && (backoffSeconds as number) <= RETRY_BACKOFF_SECONDS.max)) {
    problems.push(`${where}.backoffSeconds: an integer from 0 to ${RETRY_BACKOFF_SECONDS.max}`);
  }
  return problems;
}

function findCycle(jobs: JobDefinition[]): string[] | null {
  const needs = new Map(jobs.map((j) => [j.name, j.needs ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    for (const next of needs.get(name) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(name, 'done');
    return null;
  };
  for (const job of jobs) {
    const cycle = visit(job.name);
    if (cycle) return cycle;
  }
  return null;
}

/** Cartesian product, in key order then value order, so job keys are stable across re-runs. */
export function matrixCombinations(matrix: Record<string, MatrixValue[]>): Record<string, string>[] {
  return Object.entries(matrix).reduce<Record<string, string>[]>(
    (combos, [key, values]) => combos.flatMap((combo) => values.map((value) => ({ ...combo, [key]: String(value) }))),
    [{}],
  );
}

/** One job per job definition and matrix combination; a need on a matrix job means all of its combinations. */
export function expandJobs(def: PipelineDefinition, pipelineName = 'build'): JobSpec[] {
  const jobs: JobDefinition[] = def.jobs ?? [{ name: pipelineName }];
  const keysByName = new Map<string, string[]>();
  const specs: JobSpec[] = [];
  for (const job of jobs) {
    if (job.kind === 'approval') {
      // One gate for the whole pipeline, whatever the matrix: an approval is a decision, not a build.
      keysByName.set(job.name, [job.name]);
      specs.push({
        key: job.name,
        name: job.name,
        kind: 'approval',
        content: '',
        labels: [],
        needs: job.needs ?? [],
        matrix: {},
        env: {},
        // 0: no timeout, the job waits for a decision as long as it takes.
        timeoutMinutes: job.timeoutMinutes ?? 0,
        retry: null,
        approvers: job.approvers ?? [],
        concurrency: null,
      });
      continue;
    }
    const matrix = { ...def.matrix, ...(job.matrix ?? {}) };
    const content = job.content ?? def.content;
    const kind = job.kind ?? (job.content !== undefined ? inferKind(job.content) : def.kind);
    const keys: string[] = [];
    for (const combo of matrixCombinations(matrix)) {
      const suffix = Object.values(combo);
      const key = suffix.length ? `${job.name}[${Object.entries(combo).map(([k, v]) => `${k}=${v}`).join(',')}]` : job.name;
      keys.push(key);
      specs.push({
        key,
        name: suffix.length ? `${job.name} (${suffix.join(', ')})` : job.name,
        kind,
        content,
        labels: [...new Set([...def.labels, ...(job.labels ?? [])])].sort(),
        needs: job.needs ?? [],
        matrix: combo,
        env: { ...def.env, ...(job.env ?? {}) },
        timeoutMinutes: job.timeoutMinutes ?? def.timeoutMinutes,
        retry: job.retry ?? null,
        approvers: [],
        concurrency: job.concurrency ?? null,
      });
    }
    keysByName.set(job.name, keys);
  }
  return specs.map((spec) => ({ ...spec, needs: spec.needs.flatMap((name) => keysByName.get(name) ?? []) }));
}

/** Trigger-time inputs checked against the pipeline's input definitions; defaults filled in. */
export function resolveInputs(definitions: Record<string, InputDefinition>, given: Record<string, string>): { inputs: Record<string, string>; problems: string[] } {
  const problems: string[] = [];
  const inputs: Record<string, string> = {};
  const declared = Object.keys(definitions).filter((name) => !definitions[name].fromGraph);
  for (const [name, value] of Object.entries(given)) {
    if (declared.length > 0 && !(name in definitions)) problems.push(`input "${name}" is not declared by the pipeline (declared: ${declared.join(', ')})`);
    else if (typeof value !== 'string') problems.push(`input "${name}" must be a string`);
    else inputs[name] = value;
  }
  for (const [name, def] of Object.entries(definitions)) {
    if (name in inputs) continue;
    if (def.default !== undefined) inputs[name] = String(def.default);
    else if (def.required) problems.push(`input "${name}" is required`);
  }
  return { inputs, problems };
}
