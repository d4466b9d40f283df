import type { Api } from '../api.js';

export function ClustersPage({ api: _api }: { api: Api }) {
  return <h1>ClustersPage</h1>;
}
