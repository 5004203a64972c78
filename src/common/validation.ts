import type { PipeTransform } from '@nestjs/common';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { ApiError, badRequest } from './api-error';

/** One sentence naming every field that failed, nested ones by path (`chunks.0.stream: …`). */
export function describeValidationErrors(errors: ValidationError[], prefix = ''): string {
  return errors
    .flatMap((error) => {
      const path = prefix ? `${prefix}.${error.property}` : error.property;
      const own = Object.values(error.constraints ?? {}).map((message) => (prefix ? `${path}: ${message}` : message));
      return [...own, ...(error.children?.length ? [describeValidationErrors(error.children, path)] : [])];
    })
    .filter(Boolean)
    .join('; ');
}

export const validationFailed = (errors: ValidationError[]) => new ApiError(400, 'validation_failed', describeValidationErrors(errors));

/** The global ValidationPipe's rules, for bodies that do not arrive over HTTP (Socket.IO messages). */
export async function validateMessage<T extends object>(dto: ClassConstructor<T>, body: unknown): Promise<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'validation_failed', 'The message must be a JSON object.');
  const instance = plainToInstance(dto, body);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) throw validationFailed(errors);
  return instance;
}

/** A `limit` query parameter: `fallback` when absent, otherwise an integer from 1 to `max` (400 naming it otherwise). */
export function pageLimit(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw badRequest(`limit must be an integer from 1 to ${max}; got "${raw}".`);
  return limit;
}

/**
 * A numeric id in a path (`/runs/:id`): a positive integer the database can hold, or 400 naming what
 * was wrong. Nest's ParseIntPipe also takes `-3`, `0` and `1e3`-style surprises like `007`.
 */
export function idParam(what: string): PipeTransform<string, number> {
  return {
    transform(value: string): number {
      const id = Number(value);
      if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(id)) throw badRequest(`The ${what} id must be a positive integer; got "${value}".`);
      return id;
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` can name a row keyed by uuid (anything else is answered 404 without a query that would fail). */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
