// Building blocks the feature contracts share: how a time, an id, a page and a limit travel.
import { z } from 'zod';

/**
 * A point in time: an ISO 8601 string on the wire, a Date on the server (Date's toJSON writes exactly this
 * form, so handlers return their rows' Dates and clients read strings).
 */
export const timestamp = z.codec(z.iso.datetime({ offset: true }), z.date(), {
  decode: (text) => new Date(text),
  encode: (date) => date.toISOString(),
});

/** A numeric id in a path (`/runs/:id`): a positive integer the database can hold, or 400 naming it. */
export const numericId = (what: string) =>
  z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      const text = String(value);
      const id = Number(text);
      if (/^[1-9][0-9]*$/.test(text) && Number.isSafeInteger(id)) return id;
      ctx.addIssue({ code: 'custom', message: `The ${what} id must be a positive integer; got "${text}".` });
      return z.NEVER;
    })
    .meta({ description: `The ${what}'s numeric id.` });

/** A `limit` query parameter: an integer from 1 to `max` (the route's default when absent). */
export const pageLimit = (fallback: number, max: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback;
      const limit = Number(raw);
      if (Number.isInteger(limit) && limit >= 1 && limit <= max) return limit;
      ctx.addIssue({ code: 'custom', message: `limit must be an integer from 1 to ${max}; got "${raw}".` });
      return z.NEVER;
    })
    .meta({ description: `How many to answer, 1-${max} (default ${fallback}).` });

/** A non-negative integer in a query (`minSize=1024`); empty counts as absent. */
export const countParam = (name: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return undefined;
      const value = Number(raw);
      if (Number.isSafeInteger(value) && value >= 0) return value;
      ctx.addIssue({ code: 'custom', message: `${name} must be a non-negative integer; got "${raw}".` });
      return z.NEVER;
    });

/** A point in time in a query (`from=2026-12-01T00:00:00Z`), as `new Date` reads it; empty counts as absent. */
export const dateParam = (name: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return undefined;
      const date = new Date(raw);
      if (!Number.isNaN(date.getTime())) return date;
      ctx.addIssue({ code: 'custom', message: `${name} must be an ISO 8601 date; got "${raw}".` });
      return z.NEVER;
    })
    .meta({ description: 'ISO 8601' });

/** `{ok: true}`: an action that has nothing else to say. */
export const Ok = z.object({ ok: z.literal(true) }).meta({ id: 'Ok' });

export const stringMap = z.record(z.string(), z.string());

/** Queue priority: higher goes first; 0 unless a pipeline or a trigger says otherwise. */
export const PRIORITY = { min: -1000, max: 1000, fallback: 0 } as const;
const PRIORITY_MESSAGE = `priority must be an integer from ${PRIORITY.min} to ${PRIORITY.max}`;
export const priority = z
  .number({ error: PRIORITY_MESSAGE })
  .int(PRIORITY_MESSAGE)
  .min(PRIORITY.min, PRIORITY_MESSAGE)
  .max(PRIORITY.max, PRIORITY_MESSAGE);
