// The signed-in token lives in sessionStorage: gone when the tab closes, never in a cookie (so no
// CSRF: a cross-site page cannot make the browser attach it) and never in a URL (docs/security.md).
const KEY = 'iron.hud.token';

export interface Session {
  readonly token: string;
  readonly projectId: string;
  readonly projectName: string;
}

export function loadSession(): Session | undefined {
  const raw = sessionStorage.getItem(KEY);
  if (raw === null) return undefined;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.token === 'string' && typeof s.projectId === 'string') return { token: s.token, projectId: s.projectId, projectName: s.projectName ?? '' };
  } catch {
    // A damaged entry is the same as none.
  }
  sessionStorage.removeItem(KEY);
  return undefined;
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
