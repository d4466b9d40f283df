import { useState } from 'preact/hooks';
import { whoami } from '../api.js';
import { Labelled } from '../fields.js';
import type { Session } from '../session.js';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const who = await whoami(token.trim());
      onSignedIn({ token: token.trim(), ...who });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>iron HUD</h1>
      <form onSubmit={(e) => void submit(e)}>
        <Labelled label="Token">
          {(id) => <input id={id} type="text" class="secret" autocomplete="off" spellcheck={false} required value={token} onInput={(e) => setToken(e.currentTarget.value)} />}
        </Labelled>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      {error !== undefined && (
        <p role="alert" class="error">
          Sign-in failed: {error}
        </p>
      )}
      <p class="hint">A project token (iron.json's "token", or iron-api's first start). It stays in this tab only.</p>
    </main>
  );
}
