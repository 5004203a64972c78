// Nest handlers declared from the contract: `@Route(route)` gives a handler its method, path, success
// status and auth from the route object, and the pipes below validate params, query and body with the
// route's schemas. So a route's shape is written once, in contract/, and the server cannot serve
// another one than the clients call.
import { applyDecorators, Delete, Get, HttpCode, Patch, Post, Put, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { describeIssues, type RouteDef } from '../../contract/http';
import { Public, RegistrationOnly, AgentOnly, RequireScope } from '../auth/auth.decorators';
import { ApiError } from './api-error';

const METHOD = { GET: Get, POST: Post, PUT: Put, PATCH: Patch, DELETE: Delete } as const;

const AUTH = {
  public: Public,
  agent: AgentOnly,
  registration: RegistrationOnly,
  read: () => RequireScope('read'),
  write: () => RequireScope('write'),
  trigger: () => RequireScope('trigger'),
  admin: () => RequireScope('admin'),
} as const;

/** Declares a handler for `route`: its method and path, its success status and who may call it. */
export function Route(route: RouteDef): MethodDecorator {
  return applyDecorators(METHOD[route.method](route.path), HttpCode(route.status), AUTH[route.auth]());
}

/** 400 `validation_failed` naming every field that failed; the same answer the DTOs gave. */
export function parseOrReject<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'path' | 'message'): z.output<S> {
  if (where === 'body' || where === 'message') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ApiError(400, 'validation_failed', `The ${where === 'body' ? 'request body' : 'message'} must be a JSON object.`);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    // A path parameter's message is a whole sentence naming what the id is for ("The run id must be …").
    if (where === 'path') throw new ApiError(400, 'bad_request', parsed.error.issues.map((issue) => issue.message).join('; '));
    throw new ApiError(400, 'validation_failed', describeIssues(parsed.error.issues));
  }
  return parsed.data;
}

// A POST without a body (no Content-Type) reaches Nest as undefined; like the DTOs' ValidationPipe, it is
// read as `{}`, so a route whose fields are all optional (rerun, trigger, heartbeat) may be called bare.
const pipe = (schema: z.ZodType, where: 'body' | 'query' | 'path'): PipeTransform => ({
  transform: (value: unknown) => parseOrReject(schema, where === 'body' && value === undefined ? {} : value, where),
});

/** `@Body(bodyOf(route))`: the body checked by the route's schema (unknown fields refused). */
export function bodyOf(route: RouteDef): PipeTransform {
  if (typeof route.body !== 'object') throw new Error(`${route.method} ${route.path} has no JSON body`);
  return pipe(route.body, 'body');
}

/** `@Query(queryOf(route))`: the query string checked (and numbers coerced) by the route's schema. */
export function queryOf(route: RouteDef): PipeTransform {
  if (!route.query) throw new Error(`${route.method} ${route.path} has no query schema`);
  return pipe(route.query, 'query');
}

/** `@Param(paramsOf(route))`: every path parameter checked (ids parsed) by the route's schema. */
export function paramsOf(route: RouteDef): PipeTransform {
  if (!route.params) throw new Error(`${route.method} ${route.path} has no params schema`);
  return pipe(route.params, 'path');
}
