// Pure rules of concurrency groups: what a group may say, how it reads for one run, who takes a slot.
import {
  CONCURRENCY_LIMIT,
  CONCURRENCY_ON_CONFLICT,
  concurrencyWaitReason,
  MAX_CONCURRENCY_GROUP_LENGTH,
  type ClaimState,
  type ConcurrencyHolder,
  type ConcurrencyOnConflict,
  type ConcurrencySlot,
  type ResolvedConcurrency,
} from '../../contract/concurrency.contract';

import type { ClaimOwner, SlotGroup } from '../../workflows/messages';

export type { ClaimOwner };

// The contract's resolved group and the workflow's are one shape: this fails to compile if they drift.
const groupShapesAgree = (group: ResolvedConcurrency): SlotGroup => group;
const groupShapesAgreeBack = (group: SlotGroup): ResolvedConcurrency => group;
void groupShapesAgree;
void groupShapesAgreeBack;

/** A claim in a group's line, as the arbitration reads it. `withdrawn`: its attempt is being cancelled, so it will never run. */
export type GroupClaim = ClaimOwner & { id: number; limit: number; state: ClaimState; withdrawn: boolean };

const PLACEHOLDER = /\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type GroupScope = { kind: 'pipeline' } | { kind: 'job'; matrixKeys: string[] };

/** Every problem with a `concurrency` declaration; `inputs` are the pipeline's declared inputs (an empty list allows any). */
export function validateConcurrency(value: unknown, where: string, scope: GroupScope, inputs: string[]): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${where}: must be an object like {group: "deploy-\${ref}"}`];
  const { group, limit, onConflict, ...rest } = value as Record<string, unknown>;
  const problems = Object.keys(rest).map((key) => `${where}.${key}: unknown field (known: group, limit, onConflict)`);
  if (typeof group !== 'string' || group.trim() === '' || group.length > MAX_CONCURRENCY_GROUP_LENGTH) {
    problems.push(`${where}.group: required; a name of 1-${MAX_CONCURRENCY_GROUP_LENGTH} characters`);
  } else {
    for (const [, inner] of group.matchAll(PLACEHOLDER)) problems.push(...placeholderProblem(inner, `${where}.group`, scope, inputs));
  }
  if (limit !== undefined && !(Number.isInteger(limit) && (limit as number) >= CONCURRENCY_LIMIT.min && (limit as number) <= CONCURRENCY_LIMIT.max)) {
    problems.push(`${where}.limit: an integer from ${CONCURRENCY_LIMIT.min} to ${CONCURRENCY_LIMIT.max}`);
  }
  if (onConflict !== undefined && !(CONCURRENCY_ON_CONFLICT as readonly unknown[]).includes(onConflict)) {
    problems.push(`${where}.onConflict: one of ${CONCURRENCY_ON_CONFLICT.join(', ')}`);
  }
  return problems;
}

function placeholderProblem(inner: string, where: string, scope: GroupScope, inputs: string[]): string[] {
  if (inner === 'ref' || inner === 'pipeline') return [];
  const [namespace, name, ...extra] = inner.split('.');
  if (namespace === 'inputs' && name !== undefined && NAME.test(name) && extra.length === 0) {
    return inputs.length === 0 || inputs.includes(name) ? [] : [`${where}: \${inputs.${name}} is not a declared input (declared: ${inputs.join(', ')})`];
  }
  if (namespace === 'matrix' && name !== undefined && extra.length === 0) {
    if (scope.kind === 'pipeline') return [`${where}: \${matrix.${name}} is only known to a job's group (a run holds its pipeline's group for all its matrix jobs)`];
    return scope.matrixKeys.includes(name) ? [] : [`${where}: \${matrix.${name}} is not a matrix key of this job (its keys: ${scope.matrixKeys.join(', ') || 'none'})`];
  }
  const known = scope.kind === 'job' ? '${ref}, ${pipeline}, ${inputs.NAME}, ${matrix.KEY}' : '${ref}, ${pipeline}, ${inputs.NAME}';
  return [`${where}: \${${inner}} is not a placeholder (known: ${known})`];
}

export type GroupContext = { ref: string; pipeline: string; inputs: Record<string, string>; matrix?: Record<string, string> };

/**
 * The group for one run (and matrix leg). A placeholder with no value reads as empty; a group that
 * reads as empty as a whole keeps its template as its name, so it still means one group and says which.
 */
export function resolveConcurrency(declared: { group: string; limit?: number; onConflict?: ConcurrencyOnConflict }, context: GroupContext): ResolvedConcurrency {
  const group = declared.group.replace(PLACEHOLDER, (_whole, inner: string) => {
    if (inner === 'ref') return context.ref;
    if (inner === 'pipeline') return context.pipeline;
    const [namespace, name] = inner.split('.');
    if (namespace === 'inputs') return context.inputs[name] ?? '';
    if (namespace === 'matrix') return context.matrix?.[name] ?? '';
    return '';
  });
  return { group: group.trim() === '' ? declared.group : group, limit: declared.limit ?? CONCURRENCY_LIMIT.fallback, onConflict: declared.onConflict ?? 'queue' };
}

/**
 * Waiting claims that take a slot now, in line order (by id): each while fewer claims than its limit
 * hold the group. The first that cannot stops the line, so nobody overtakes. Withdrawn claims are
 * passed over: they are being cancelled and will never run.
 */
export function promotions(claims: GroupClaim[]): number[] {
  let holding = claims.filter((claim) => claim.state === 'holding').length;
  const promoted: number[] = [];
  for (const claim of [...claims].sort((a, b) => a.id - b.id)) {
    if (claim.state !== 'waiting' || claim.withdrawn) continue;
    if (holding >= claim.limit) break;
    promoted.push(claim.id);
    holding += 1;
  }
  return promoted;
}

export type Arrival = { kind: 'join' } | { kind: 'skip' } | { kind: 'supersede'; victims: { runId: number; attempt: number }[] };

/**
 * What a new claim does to the line it joins. `queue` joins it. `skip` joins only when it would take a
 * slot at once, else its run ends. `cancel_in_progress` cancels every other run attempt holding or
 * waiting in the group (they are superseded: the newest wins), then joins.
 */
export function arrival(line: GroupClaim[], mine: ClaimOwner & { limit: number; onConflict: ConcurrencyOnConflict }): Arrival {
  if (mine.onConflict === 'queue') return { kind: 'join' };
  if (mine.onConflict === 'skip') {
    const probe: GroupClaim = { ...mine, id: Number.MAX_SAFE_INTEGER, state: 'waiting', withdrawn: false };
    return promotions([...line, probe]).includes(probe.id) ? { kind: 'join' } : { kind: 'skip' };
  }
  const victims = new Map<string, { runId: number; attempt: number }>();
  for (const claim of line) {
    const sameAttempt = claim.runId === mine.runId && claim.attempt === mine.attempt;
    if (!sameAttempt && !claim.withdrawn) victims.set(`${claim.runId}/${claim.attempt}`, { runId: claim.runId, attempt: claim.attempt });
  }
  // Run order, so two supersedes lock the victims' rows in one order.
  return { kind: 'supersede', victims: [...victims.values()].sort((a, b) => a.runId - b.runId || a.attempt - b.attempt) };
}

/** A claim's standing as the API shows it, with the sentence for a claim in line. */
export function slotView(
  declared: ResolvedConcurrency,
  claim: { state: ClaimState; position: number | null; heldBy: ConcurrencyHolder[] } | undefined,
  pipeline: string,
): ConcurrencySlot {
  const state = claim?.state ?? null;
  const position = state === 'waiting' ? (claim?.position ?? null) : null;
  const heldBy = claim?.heldBy ?? [];
  return {
    ...declared,
    state,
    position,
    heldBy,
    waitingBecause: state === 'waiting' ? concurrencyWaitReason(declared.group, heldBy, pipeline, position) : null,
  };
}
