// REST access: the contract's typed client with the session's token; a 401 signs the session out.
// Routes are called as `client.call(api.runs.get, { params: { id } })`.
import { createApiClient } from '../../../contract/api-client';
import { ApiError, type RouteDef, type RouteInput } from '../../../contract/http';
import { clearToken, getToken } from './session';

export { ApiError };
export { api } from '../../../contract/index';

export const client = createApiClient({
  token: () => getToken() ?? undefined,
  onError: (error) => {
    if (error.status === 401) clearToken(error.message);
  },
});

/** Downloads with the token (a plain link cannot send the header): fetch → blob → a temporary link. */
export async function downloadWithToken<R extends RouteDef>(route: R, input: RouteInput<R>, fallbackName: string): Promise<void> {
  const response = await client.raw(route, input);
  const blob = await response.blob();
  const disposition = response.headers.get('content-disposition') ?? '';
  const match = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1] ?? match[2]) : fallbackName;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name.split('/').pop() || fallbackName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The sentence to show for a failure: the API's own message for an error answer. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A query's error as a sentence, or null. */
export function errorText(error: unknown): string | null {
  return error ? errorMessage(error) : null;
}
