// Data that refreshes itself: fetched at once and every `everyMs` while the page shows it (the
// tasks list and a running task's log follow live this way). A new key starts over; leaving the
// page aborts the request in flight.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  /** Fetch again now (after an action changed the data). */
  readonly refresh: () => void;
}

export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, key: string, everyMs: number | null): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    setData(undefined);
    setError(undefined);
  }, [key]);
  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const v = await loadRef.current(ctl.signal);
        if (ctl.signal.aborted) return;
        setData(v);
        setError(undefined);
      } catch (err) {
        if (ctl.signal.aborted) return;
        setError(err instanceof Error ? err.message : String(err));
      }
      if (everyMs !== null && !ctl.signal.aborted) timer = setTimeout(() => void run(), everyMs);
    };
    void run();
    return () => {
      ctl.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [key, tick, everyMs]);
  const refresh = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, refresh };
}
