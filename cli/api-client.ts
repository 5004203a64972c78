// The CLI's door to the API: the contract's typed client, with every failure turned into one sentence a
// person can act on (and the exit code scripts rely on).
import { createApiClient, type CallOptions } from '../contract/api-client';
import { ApiError, ContractViolation, type RouteDef, type RouteInput, type RouteResponse } from '../contract/http';
import { CliError, EXIT } from './cli-errors';

/** An error answer of the API, carrying its `{error: {code, message, …}}`. */
export class ApiRequestError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message, EXIT.failed);
  }
}

export type ApiClient = {
  readonly baseUrl: string;
  /** Calls a JSON route; its answer is checked against the route's schema. */
  call<R extends RouteDef>(route: R, input: RouteInput<R>, options?: CallOptions): Promise<RouteResponse<R>>;
  /** Calls a route and hands back the successful Response unread (downloads). */
  raw<R extends RouteDef>(route: R, input: RouteInput<R>, options?: CallOptions): Promise<Response>;
};

const CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'timed out',
};

/** Why fetch got no answer, in words: undici hides the system's code one or two levels down. */
export function unreachableCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  return (code && CAUSES[code]) ?? code ?? cause?.message ?? (error as Error).message;
}

/** The CLI's sentence for an error answer: a refused pipeline lists one problem a line, a 401 says how to log in. */
export function friendlyApiError(error: ApiError, baseUrl: string): ApiRequestError {
  let message = error.message;
  const { problems, summary } = error.details;
  if (Array.isArray(problems) && problems.length > 0 && typeof summary === 'string') message = `${summary}:\n${problems.map((problem) => `  - ${String(problem)}`).join('\n')}`;
  if (error.status === 401) message = `The server at ${baseUrl} refused the token (${message}); run \`bellows login\` with a valid token.`;
  return new ApiRequestError(error.status, error.code, message, error.details);
}

function translate(error: unknown, baseUrl: string): unknown {
  if (error instanceof ApiError) return friendlyApiError(error, baseUrl);
  // An answer of another shape means the server runs another version: say so rather than print undefined fields.
  if (error instanceof ContractViolation) return new CliError(`The server at ${baseUrl} answered in a form this CLI does not know (${error.message}); use the bellows CLI of the server's version.`);
  return error;
}

export function connect(baseUrl: string, token: string): ApiClient {
  const client = createApiClient({
    baseUrl,
    token: () => token,
    headers: { 'user-agent': 'bellows-cli' },
    checkResponses: true,
    unreachable: (error) => new CliError(`Cannot reach the Bellows server at ${baseUrl} (${unreachableCause(error)}).`, EXIT.unreachable),
  });
  return {
    baseUrl: client.baseUrl,
    async call(route, input, options) {
      try {
        return await client.call(route, input, options);
      } catch (error) {
        throw translate(error, baseUrl);
      }
    },
    async raw(route, input, options) {
      try {
        return await client.raw(route, input, options);
      } catch (error) {
        throw translate(error, baseUrl);
      }
    },
  };
}
