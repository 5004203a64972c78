import { useState, type FormEvent } from 'react';
import { createApiClient } from '../../../contract/api-client';
import { api, ApiError } from '../api/client';
import { setToken } from '../api/session';
import { ErrorBanner } from '../components/common';

export function SignInPage({ reason }: { reason: string | null }) {
  const [token, setTokenValue] = useState('');
  const [error, setError] = useState<string | null>(reason);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Checked before it is kept: a wrong token is told here, not on the first page.
      // (Its own client: the session's would sign out on the 401 of a wrong token.)
      await createApiClient({ token: () => token.trim() }).call(api.projects.list, {});
      setToken(token.trim());
    } catch (failure) {
      if (!(failure instanceof ApiError) || failure.status === 0) setError('Cannot reach the Bellows server.');
      else setError(failure.code === 'http_error' ? `The server answered ${failure.status}.` : failure.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="sign-in">
      <form className="card sign-in-card" onSubmit={submit}>
        <h1>Bellows</h1>
        <p className="muted">Sign in with an API token (the admin token <code>npm start</code> printed, or one from <code>POST /api/v1/tokens</code>).</p>
        <label>
          API token
          <input name="token" type="password" autoComplete="off" autoFocus value={token} onChange={(event) => setTokenValue(event.target.value)} placeholder="bel_…" />
        </label>
        <ErrorBanner error={error} />
        <button type="submit" className="primary" disabled={busy || !token.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">The token is kept for this browser tab only.</p>
      </form>
    </div>
  );
}
