import type { Api } from '../api.js';

export function CodePage({ id }: { api: Api; id: string }) {
  void id;
  return <h1>CodePage</h1>;
}
