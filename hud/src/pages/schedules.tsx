import type { Api } from '../api.js';

export function SchedulesPage({ api: _api }: { api: Api }) {
  return <h1>SchedulesPage</h1>;
}
