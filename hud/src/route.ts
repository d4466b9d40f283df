// Hash routes (#/tasks, #/tasks/<id>, #/codes, #/codes/<id>, #/schedules, #/clusters): the server
// serves one index.html, and nothing of the route ever reaches the server or a Referer.
import { useEffect, useState } from 'preact/hooks';

export type Route = { page: 'tasks' } | { page: 'task'; id: string } | { page: 'codes' } | { page: 'code'; id: string } | { page: 'schedules' } | { page: 'clusters' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [head, id] = parts;
  if (head === 'tasks' && id !== undefined && id !== '') return { page: 'task', id };
  if (head === 'codes' && id !== undefined && id !== '') return { page: 'code', id };
  if (head === 'codes') return { page: 'codes' };
  if (head === 'schedules') return { page: 'schedules' };
  if (head === 'clusters') return { page: 'clusters' };
  return { page: 'tasks' };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const href = {
  task: (id: string): string => `#/tasks/${encodeURIComponent(id)}`,
  code: (id: string): string => `#/codes/${encodeURIComponent(id)}`,
};
