import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import type { ErrorBody } from './api-error';

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  410: 'gone',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  422: 'unprocessable',
  429: 'too_many_requests',
  503: 'unavailable',
};

type BodyParserError = Error & { type?: string; status?: number; limit?: number };

// Maps every failure, including Express body-parser errors, onto `{error: {code, message}}`.
// Bad input never becomes a 500; unexpected errors are logged once and answered generically.
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const { status, body } = this.toResponse(exception);
    res.status(status).json(body);
  }

  private toResponse(exception: unknown): { status: number; body: ErrorBody } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'object' && response !== null && 'error' in response) {
        const error = (response as { error: unknown }).error;
        if (typeof error === 'object' && error !== null && 'code' in error) return { status, body: response as ErrorBody };
      }
      const message = this.messageOf(response) ?? exception.message;
      return { status, body: { error: { code: CODES[status] ?? 'error', message } } };
    }
    const parserError = exception as BodyParserError;
    if (parserError?.type === 'entity.too.large') {
      return {
        status: 413,
        body: { error: { code: 'payload_too_large', message: `Request body exceeds the limit of ${parserError.limit} bytes.` } },
      };
    }
    if (parserError?.type === 'entity.parse.failed') {
      return { status: 400, body: { error: { code: 'malformed_json', message: `Request body is not valid JSON: ${parserError.message}` } } };
    }
    if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
      return { status: parserError.status, body: { error: { code: CODES[parserError.status] ?? 'bad_request', message: parserError.message } } };
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return { status: 500, body: { error: { code: 'internal', message: 'Internal server error.' } } };
  }

  private messageOf(response: unknown): string | undefined {
    if (typeof response === 'string') return response;
    if (typeof response === 'object' && response !== null && 'message' in response) {
      const message = (response as { message: unknown }).message;
      if (Array.isArray(message)) return message.join('; ');
      if (typeof message === 'string') return message;
    }
    return undefined;
  }
}
