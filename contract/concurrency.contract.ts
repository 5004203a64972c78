// Concurrency groups: at most `limit` runs (or jobs) of one group at a time in a project, the rest in line.
import { z } from 'zod';

export const CONCURRENCY_ON_CONFLICT = ['queue', 'cancel_in_progress', 'skip'] as const;
export type ConcurrencyOnConflict = (typeof CONCURRENCY_ON_CONFLICT)[number];

/** One deploy at a time is the common case (GitHub's and GitLab's only one); 1000 is "many", not "any". */
export const CONCURRENCY_LIMIT = { min: 1, max: 1000, fallback: 1 } as const;
export const MAX_CONCURRENCY_GROUP_LENGTH = 200;

/** The placeholders a group may use; `${matrix.KEY}` only in a job's group. */
export const CONCURRENCY_PLACEHOLDERS = ['${ref}', '${pipeline}', '${inputs.NAME}', '${matrix.KEY}'] as const;

/** As declared on a pipeline or a job (checked in full by the pipeline validator, which names every problem). */
export const ConcurrencyDefinition = z
  .object({
    group: z.string().meta({ description: `The group's name; may use ${CONCURRENCY_PLACEHOLDERS.join(', ')} (the last in a job's group only).`, example: 'deploy-${ref}' }),
    limit: z.number().optional().meta({ description: `How many may hold the group at once (${CONCURRENCY_LIMIT.min}-${CONCURRENCY_LIMIT.max}).`, default: CONCURRENCY_LIMIT.fallback }),
    onConflict: z
      .enum(CONCURRENCY_ON_CONFLICT)
      .optional()
      .meta({
        description:
          'When the group is full: `queue` waits in line; `cancel_in_progress` cancels the runs holding or waiting for it (reason `superseded`) and takes the next slot; `skip` ends the new run cancelled (reason `concurrency_skipped`).',
        default: 'queue',
      }),
  })
  .meta({ id: 'ConcurrencyDefinition' });
export type ConcurrencyDefinition = z.input<typeof ConcurrencyDefinition>;

/** A group with its placeholders filled in for one run: what a claim is made for. */
export type ResolvedConcurrency = { group: string; limit: number; onConflict: ConcurrencyOnConflict };

export const ConcurrencyHolder = z
  .object({ runId: z.number(), runNumber: z.number(), pipeline: z.string(), jobKey: z.string().nullable().meta({ description: 'Set when a job (not a whole run) holds the slot.' }) })
  .meta({ id: 'ConcurrencyHolder' });
export type ConcurrencyHolder = z.input<typeof ConcurrencyHolder>;

export const CLAIM_STATES = ['waiting', 'holding'] as const;
export type ClaimState = (typeof CLAIM_STATES)[number];

/** Where a run (or a job) stands in its group now. */
export const ConcurrencySlot = z
  .object({
    group: z.string(),
    limit: z.number(),
    onConflict: z.enum(CONCURRENCY_ON_CONFLICT),
    /** null: no claim now (not asked for yet, or given back). */
    state: z.enum(CLAIM_STATES).nullable().meta({ description: 'null when there is no claim now: not asked for yet, or given back.' }),
    /** Place in line while waiting: 1 is next. */
    position: z.number().nullable().meta({ description: 'While waiting: the place in line, 1 is next.' }),
    heldBy: z.array(ConcurrencyHolder),
    waitingBecause: z.string().nullable().meta({ description: 'While waiting, why, in a sentence.', example: 'waiting for concurrency group deploy-main (held by run #41)' }),
  })
  .meta({ id: 'ConcurrencySlot' });
export type ConcurrencySlot = z.input<typeof ConcurrencySlot>;

/**
 * The one sentence the queue, the run page and the CLI print for a claim in line. `pipeline` is the
 * waiting run's: holders of the same pipeline are "run #41", others name theirs.
 */
export function concurrencyWaitReason(group: string, heldBy: ConcurrencyHolder[], pipeline: string, position: number | null): string {
  const name = (holder: ConcurrencyHolder) => `${holder.pipeline === pipeline ? 'run' : holder.pipeline} #${holder.runNumber}${holder.jobKey ? ` (${holder.jobKey})` : ''}`;
  const shown = heldBy.slice(0, 3).map(name);
  const more = heldBy.length > 3 ? ` and ${heldBy.length - 3} more` : '';
  const ahead = position !== null && position > 1 ? `; ${position - 1} ahead in line` : '';
  if (heldBy.length === 0) return `waiting for concurrency group ${group}${position !== null && position > 1 ? ` (${position - 1} ahead in line)` : ''}`;
  return `waiting for concurrency group ${group} (held by ${shown.join(', ')}${more}${ahead})`;
}
