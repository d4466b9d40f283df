// One place for what a button does to the API: a busy flag, and the outcome as a status line
// (role status) or an alert (role alert), both plain text.
import { useState } from 'preact/hooks';
import type { JSX } from 'preact';

export interface Actions {
  readonly busy: boolean;
  run(what: string, fn: () => Promise<void>): Promise<boolean>;
  readonly view: JSX.Element | null;
}

export function useActions(): Actions {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const run = async (what: string, fn: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setOutcome(undefined);
    try {
      await fn();
      setOutcome({ ok: true, text: `${what}: done` });
      return true;
    } catch (err) {
      setOutcome({ ok: false, text: `${what}: ${err instanceof Error ? err.message : String(err)}` });
      return false;
    } finally {
      setBusy(false);
    }
  };
  const view =
    outcome === undefined ? null : outcome.ok ? (
      <span role="status">{outcome.text}</span>
    ) : (
      <span role="alert" class="error">
        {outcome.text}
      </span>
    );
  return { busy, run, view };
}
