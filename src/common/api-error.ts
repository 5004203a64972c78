import { HttpException } from '@nestjs/common';

export type ErrorBody = { error: { code: string; message: string; [extra: string]: unknown } };

// Every error the API answers with has this one shape: a stable code for programs and a
// sentence for people that names the problem.
export class ApiError extends HttpException {
  constructor(status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
    super({ error: { code, message, ...extra } } satisfies ErrorBody, status);
  }
}

export const badRequest = (message: string, code = 'bad_request') => new ApiError(400, code, message);
export const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);
export const notFound = (what: string, id: string | number) =>
  new ApiError(404, `${what.replace(/\s+/g, '_')}_not_found`, `No ${what} "${id}" exists.`);
export const conflict = (message: string, code = 'conflict', extra: Record<string, unknown> = {}) =>
  new ApiError(409, code, message, extra);
export const gone = (message: string, code = 'gone') => new ApiError(410, code, message);
export const unprocessable = (message: string, code = 'unprocessable') => new ApiError(422, code, message);
export const tooLarge = (message: string) => new ApiError(413, 'payload_too_large', message);
