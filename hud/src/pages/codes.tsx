import type { Api } from '../api.js';

export function CodesPage({ api: _api }: { api: Api }) {
  return <h1>CodesPage</h1>;
}
