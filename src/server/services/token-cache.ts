// Known tokens remembered for a few seconds. Every request authenticates, and a runner makes two
// or more a second (a heartbeat, a reserve, its task calls): the token's store lookup was one of
// the largest costs of an idle fleet's request (issue 17). Only tokens the store found are kept,
// keyed by their SHA-256 hash as in the store (a value a caller cannot steer byte by byte), so an
// unknown token still costs its lookup and cannot fill the map with guesses. Revocation: deleting
// a cluster through this process forgets at once (forget(), called after the store's delete
// commits); another replica's delete (PostgreSQL) takes effect here within TTL_MS.
import type { TokenScope } from '../store/records.js';

/** How long a found token is trusted without asking the store again: the revocation delay of other replicas. */
export const TOKEN_CACHE_TTL_MS = 2_000;
/** Beyond this many remembered tokens the map starts again (tokens are few; the bound is for safety). */
const MAX_TOKENS = 10_000;

export class TokenCache {
  private readonly known = new Map<string, { scope: TokenScope; until: number }>();
  /** Bumped by forget(): a lookup that began before a revocation must not store its (stale) answer. */
  private generation = 0;

  get(hash: string, now: number): TokenScope | undefined {
    const k = this.known.get(hash);
    if (k === undefined) return undefined;
    if (now < k.until) return k.scope;
    this.known.delete(hash);
    return undefined;
  }

  /** The generation to pass to set() once the store answered. */
  begin(): number {
    return this.generation;
  }

  set(hash: string, scope: TokenScope, now: number, generation: number): void {
    if (generation !== this.generation) return;
    if (this.known.size >= MAX_TOKENS) this.known.clear();
    this.known.set(hash, { scope, until: now + TOKEN_CACHE_TTL_MS });
  }

  /** Forgets every token of the cluster (its tokens were deleted with it). */
  forgetCluster(clusterId: string): void {
    this.generation++;
    for (const [hash, k] of this.known) if (k.scope.kind === 'cluster' && k.scope.clusterId === clusterId) this.known.delete(hash);
  }
}
