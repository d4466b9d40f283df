// Pre-pull signals (docs/protocol.md, "Image warm-up"): when a code is registered or updated, its
// image is listed for the runners of the clusters that will run it, so the first task finds it
// pulled. Runners read the list in the reserve answer with a cursor of their own. Kept in memory on
// purpose: a warm-up is an optimisation, and after an iron-api restart the first task pulls as before.
import { randomBytes } from 'node:crypto';

export interface WarmEntry {
  readonly seq: number;
  readonly image: string;
  readonly projectId: string;
  readonly at: number;
}

/** Newest entries kept per cluster; one registration storm cannot grow the list. */
const MAX_PER_CLUSTER = 32;
/** A runner that starts later still warms what was registered within this window. */
export const WARM_TTL_MS = 10 * 60_000;

export class Warmups {
  /** Changes on every start, so a runner's cursor from an earlier iron-api is not trusted. */
  private readonly epoch = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly byCluster = new Map<string, WarmEntry[]>();

  /** Lists `image` (pulled with `projectId`'s credentials) for the runners of each cluster. */
  add(clusterIds: readonly string[], image: string, projectId: string, now: number): void {
    const seq = ++this.seq;
    for (const cid of new Set(clusterIds)) {
      // A newer listing of the same image and scope replaces the older one.
      const list = (this.byCluster.get(cid) ?? []).filter((e) => !(e.image === image && e.projectId === projectId) && now - e.at < WARM_TTL_MS);
      list.push({ seq, image, projectId, at: now });
      this.byCluster.set(cid, list.slice(-MAX_PER_CLUSTER));
    }
  }

  /** Entries the runner with this cursor has not seen yet, and the cursor to send next time. */
  since(clusterId: string, cursor: string, now: number): { entries: WarmEntry[]; cursor: string } {
    const after = this.after(cursor);
    const entries = (this.byCluster.get(clusterId) ?? []).filter((e) => e.seq > after && now - e.at < WARM_TTL_MS);
    return { entries, cursor: `${this.epoch}.${this.seq}` };
  }

  pending(clusterId: string, cursor: string, now: number): boolean {
    const after = this.after(cursor);
    return (this.byCluster.get(clusterId) ?? []).some((e) => e.seq > after && now - e.at < WARM_TTL_MS);
  }

  /** '' (a runner's first call) or a cursor of another epoch: everything still listed is new. */
  private after(cursor: string): number {
    const [epoch, seq] = cursor.split('.');
    const n = Number(seq);
    return epoch === this.epoch && Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }
}
