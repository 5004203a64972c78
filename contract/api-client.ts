// The one typed REST client: the web UI, the CLI and the tests call routes of the contract through it
// (the agent shares routeUrl/checkResponse but keeps its own transport: retries, re-registration).
import { ApiError, checkResponse, errorFromResponse, routeUrl, type RouteDef, type RouteInput, type RouteResponse } from './http';

export type ApiClientOptions = {
  /** Where the API is (`http://localhost:8080`); '' for the page's own origin. */
  baseUrl?: string;
  /** The bearer token, asked for at every call (a session may sign in or out between calls). */
  token?: () => string | undefined;
  headers?: Record<string, string>;
  /** Check every JSON answer against its schema (tests and tools; the browser trusts its own server). */
  checkResponses?: boolean;
  /** Told about every error answer before it is thrown (the web UI signs out on 401). */
  onError?: (error: ApiError) => void;
  /** Turns a transport failure (no answer at all) into the error to throw. */
  unreachable?: (error: unknown) => Error;
  fetch?: typeof fetch;
};

export type CallOptions = { signal?: AbortSignal; headers?: Record<string, string> };

export type ApiClient = {
  readonly baseUrl: string;
  /** Calls a JSON route; resolves to its answer, rejects with ApiError for an error answer. */
  call<R extends RouteDef>(route: R, input: RouteInput<R>, options?: CallOptions): Promise<RouteResponse<R>>;
  /** Calls a route and hands back the successful Response unread (downloads, text). */
  raw<R extends RouteDef>(route: R, input: RouteInput<R>, options?: CallOptions): Promise<Response>;
};

export function createApiClient(options: ApiClientOptions = {}): ApiClient {
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));

  async function send<R extends RouteDef>(route: R, input: RouteInput<R>, callOptions: CallOptions = {}): Promise<Response> {
    const { params, query, body } = input as { params?: Record<string, string | number>; query?: Record<string, unknown>; body?: unknown };
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers, ...callOptions.headers };
    const token = options.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    const json = typeof route.body === 'object' && body !== undefined;
    if (json) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${routeUrl(route, params, query)}`, {
        method: route.method,
        headers,
        body: json ? JSON.stringify(body) : (body as BodyInit | undefined),
        signal: callOptions.signal,
        ...(body !== undefined && !json ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (error) {
      if ((error as Error).name === 'AbortError' || callOptions.signal?.aborted) throw error;
      throw options.unreachable?.(error) ?? new ApiError(0, 'unreachable', `Cannot reach the Bellows server${baseUrl ? ` at ${baseUrl}` : ''}.`);
    }
    if (!response.ok) {
      const error = errorFromResponse(response.status, response.statusText, await response.text().catch(() => ''));
      options.onError?.(error);
      throw error;
    }
    return response;
  }

  return {
    baseUrl,
    raw: send,
    async call(route, input, callOptions) {
      const response = await send(route, input, callOptions);
      if (typeof route.response === 'string' || response.status === 204) return undefined as RouteResponse<typeof route>;
      const text = await response.text();
      const json: unknown = text ? JSON.parse(text) : undefined;
      return options.checkResponses ? checkResponse(route, json) : (json as RouteResponse<typeof route>);
    },
  };
}
