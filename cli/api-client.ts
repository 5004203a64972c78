import { CliError, EXIT } from './cli-errors';

/** An error answer of the API, carrying its `{error: {code, message}}`. */
export class ApiRequestError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message, EXIT.failed);
  }
}

const CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'timed out',
};

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? {} : { 'content-type': 'application/json' });
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A streamed GET (downloads); the caller reads the body. */
  async stream(path: string): Promise<Response> {
    return this.send('GET', path, undefined, {});
  }

  private async send(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? path : `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, { method, body, headers: { ...headers, authorization: `Bearer ${this.token}`, 'user-agent': 'bellows-cli' } });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
      const code = cause?.code ?? cause?.errors?.[0]?.code;
      const why = (code && CAUSES[code]) ?? code ?? cause?.message ?? (error as Error).message;
      throw new CliError(`Cannot reach the Bellows server at ${this.baseUrl} (${why}).`, EXIT.unreachable);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    let code = 'error';
    let message = text.trim() || `HTTP ${response.status}`;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; problems?: unknown; summary?: unknown } };
      code = parsed.error?.code ?? code;
      message = parsed.error?.message ?? message;
      // A refused pipeline lists every problem: one per line reads better than one long sentence.
      const { problems, summary } = parsed.error ?? {};
      if (Array.isArray(problems) && problems.length > 0 && typeof summary === 'string') message = `${summary}:\n${problems.map((problem) => `  - ${String(problem)}`).join('\n')}`;
    } catch {
      // Not our JSON (a proxy's error page): the status and the text are all there is.
    }
    if (response.status === 401) {
      throw new ApiRequestError(401, code, `The server at ${this.baseUrl} refused the token (${message}); run \`bellows login\` with a valid token.`);
    }
    throw new ApiRequestError(response.status, code, message);
  }
}
