// What a verified delivery asks for: a run (with ref, commit and inputs), nothing (filtered, ping,
// deleted branch), or an explanation of why its payload is unusable. Pure, so every rule is unit-tested.

import type { HookFormat } from '../../contract/hooks.contract';

export type { HookFormat } from '../../contract/hooks.contract';

export type HookFilters = { events: string[]; branches: string[] };

export type DeliveryDecision =
  | { kind: 'run'; ref: string | undefined; commitSha: string | null; actor: string | null; inputs: Record<string, string> }
  | { kind: 'ping' }
  | { kind: 'skip'; reason: string }
  | { kind: 'invalid'; reason: string };

/** GitHub hooks without an explicit event list react to pushes only; other formats to every event. */
export function defaultEvents(format: HookFormat): string[] {
  return format === 'github' ? ['push'] : [];
}

/** `refs/heads/main` → `main`, `refs/tags/v1` → `v1`; anything else unchanged. */
export function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}

/**
 * Branch and event filters: `*` matches within one path segment (`release/*` matches `release/1.2`
 * but not `release/1/hotfix`), `**` matches across segments, `?` one character. Everything else is literal.
 */
export function globMatches(pattern: string, value: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`).test(value);
}

export function eventAllowed(filters: HookFilters, event: string | null): boolean {
  if (filters.events.length === 0) return true;
  return event !== null && filters.events.some((pattern) => globMatches(pattern, event));
}

export function refAllowed(filters: HookFilters, ref: string | undefined): boolean {
  if (filters.branches.length === 0) return true;
  return ref !== undefined && filters.branches.some((pattern) => globMatches(pattern, ref));
}

const NULL_SHA = /^0+$/;
const SHA = /^[0-9a-f]{7,64}$/i;

export function decide(format: HookFormat, event: string | null, payload: unknown, filters: HookFilters): DeliveryDecision {
  if (!isObject(payload)) return { kind: 'invalid', reason: 'The body must be a JSON object.' };
  if (format === 'github' && event === 'ping') return { kind: 'ping' };
  if (!eventAllowed(filters, event)) {
    return { kind: 'skip', reason: `event "${event ?? '(none)'}" is not one of this hook's events (${filters.events.join(', ')})` };
  }
  const wanted = format === 'github' ? githubRun(event, payload) : format === 'standard' ? standardRun(payload) : tokenRun(payload);
  if (wanted.kind !== 'run') return wanted;
  if (wanted.ref !== undefined && (wanted.ref.length === 0 || wanted.ref.length > 255)) return { kind: 'invalid', reason: 'ref must be 1-255 characters.' };
  const filterRef = wanted.filterRef ?? wanted.ref;
  if (!refAllowed(filters, filterRef)) {
    return { kind: 'skip', reason: `ref "${filterRef ?? '(none)'}" does not match this hook's branches (${filters.branches.join(', ')})` };
  }
  return { kind: 'run', ref: wanted.ref, commitSha: wanted.commitSha, actor: wanted.actor, inputs: wanted.inputs };
}

type WantedRun = Extract<DeliveryDecision, { kind: 'run' }> & { filterRef?: string };
type NotRun = Exclude<DeliveryDecision, { kind: 'run' }>;

function githubRun(event: string | null, payload: Record<string, unknown>): WantedRun | NotRun {
  const actor = str(field(payload, 'pusher', 'name')) ?? str(field(payload, 'sender', 'login'));
  if (event === 'push') {
    const ref = str(payload.ref);
    if (!ref) return { kind: 'invalid', reason: 'A push payload needs a "ref".' };
    const after = str(payload.after);
    // Deleting a branch or tag is a push too; there is nothing to build.
    if (payload.deleted === true || (after !== undefined && NULL_SHA.test(after))) return { kind: 'skip', reason: `ref "${shortRef(ref)}" was deleted` };
    return { kind: 'run', ref: shortRef(ref), commitSha: sha(after), actor: actor ?? null, inputs: {} };
  }
  if (event === 'pull_request') {
    const action = str(payload.action);
    if (!['opened', 'synchronize', 'reopened'].includes(action ?? '')) return { kind: 'skip', reason: `pull_request action "${action ?? '(none)'}" changes no code` };
    const head = str(field(payload, 'pull_request', 'head', 'ref'));
    if (!head) return { kind: 'invalid', reason: 'A pull_request payload needs pull_request.head.ref.' };
    // As in GitHub Actions, branch filters of pull requests name the branch merged into.
    const base = str(field(payload, 'pull_request', 'base', 'ref'));
    return { kind: 'run', ref: head, commitSha: sha(str(field(payload, 'pull_request', 'head', 'sha'))), actor: actor ?? null, inputs: {}, filterRef: base };
  }
  const ref = str(payload.ref);
  const fallback = str(field(payload, 'repository', 'default_branch'));
  return {
    kind: 'run',
    ref: ref ? shortRef(ref) : fallback,
    commitSha: sha(str(payload.after) ?? str(field(payload, 'head_commit', 'id'))),
    actor: actor ?? null,
    inputs: {},
  };
}

// Standard Webhooks fixes the envelope ({type, timestamp, data}), not the content: Bellows reads
// ref, commitSha and inputs from data (or the top level).
function standardRun(payload: Record<string, unknown>): WantedRun | NotRun {
  const data = isObject(payload.data) ? payload.data : payload;
  return runFromFields(data, 'data');
}

function tokenRun(payload: Record<string, unknown>): WantedRun | NotRun {
  return runFromFields(payload, 'body');
}

function runFromFields(data: Record<string, unknown>, where: string): WantedRun | NotRun {
  if (data.ref !== undefined && typeof data.ref !== 'string') return { kind: 'invalid', reason: `${where}.ref must be a string.` };
  const commit = data.commitSha ?? data.after ?? data.sha;
  if (commit !== undefined && (typeof commit !== 'string' || !SHA.test(commit))) return { kind: 'invalid', reason: `${where}.commitSha must be a hex commit id.` };
  const inputs: Record<string, string> = {};
  if (data.inputs !== undefined) {
    if (!isObject(data.inputs)) return { kind: 'invalid', reason: `${where}.inputs must be an object of strings.` };
    for (const [key, value] of Object.entries(data.inputs)) {
      if (typeof value !== 'string') return { kind: 'invalid', reason: `${where}.inputs.${key} must be a string.` };
      inputs[key] = value;
    }
  }
  const actor = typeof data.actor === 'string' ? data.actor.slice(0, 200) : null;
  return { kind: 'run', ref: typeof data.ref === 'string' ? shortRef(data.ref) : undefined, commitSha: (commit as string | undefined) ?? null, actor, inputs };
}

function sha(value: string | undefined): string | null {
  return value !== undefined && SHA.test(value) && !NULL_SHA.test(value) ? value : null;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
