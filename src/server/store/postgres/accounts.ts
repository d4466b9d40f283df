// Projects, tokens, clusters and registry credentials in PostgreSQL (the same rows as sqlite/accounts.ts).
import { newId } from '../../ids.js';
import { TASK_STATUSES } from '../../../protocol/statuses.js';
import { assignments, CLUSTER_UPDATE_COLUMNS, clusterUpdateValues } from '../columns.js';
import type { AccountStore, ClusterStore, TaskCountFilter } from '../ports.js';
import type { Credential, TaskStatus, TokenScope } from '../records.js';
import { toCluster } from '../rows.js';
import type { SecretBox } from '../secret-box.js';
import type { PgDb, Q } from './db.js';
import { LOCK_BOOTSTRAP } from './migrations.js';

export function accountStore(db: PgDb, box: SecretBox): AccountStore {
  return {
    isEmpty: async (signal) => (await db.one(signal, 'SELECT 1 AS x FROM projects LIMIT 1')) === undefined,
    createProject: async (name, now, signal) => {
      const id = newId(now);
      await db.run(signal, 'INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)', [id, name, now]);
      return { id, name, createdAt: now };
    },
    createFirstProject: (name, now, signal) =>
      db.tx(signal, async (q) => {
        // Replicas starting together on an empty database: the first to take the lock creates it.
        await q.run('SELECT pg_advisory_xact_lock($1)', [LOCK_BOOTSTRAP]);
        if ((await q.one('SELECT 1 AS x FROM projects LIMIT 1')) !== undefined) return undefined;
        const id = newId(now);
        await q.run('INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)', [id, name, now]);
        return { id, name, createdAt: now };
      }),
    getProject: async (id, signal) => {
      const r = await db.one(signal, 'SELECT * FROM projects WHERE id = $1', [id]);
      return r === undefined ? undefined : { id: String(r['id']), name: String(r['name']), createdAt: Number(r['created_at']) };
    },
    addToken: async (hash, scope, now, signal) => {
      await db.run(signal, 'INSERT INTO tokens (hash, kind, project_id, cluster_id, created_at) VALUES ($1, $2, $3, $4, $5)', [
        hash,
        scope.kind,
        scope.kind === 'project' ? scope.projectId : null,
        scope.kind === 'cluster' ? scope.clusterId : null,
        now,
      ]);
    },
    findToken: async (hash, signal) => {
      const r = await db.one(signal, 'SELECT hash, kind, project_id, cluster_id FROM tokens WHERE hash = $1', [hash]);
      if (r === undefined) return undefined;
      const scope: TokenScope = r['kind'] === 'project' ? { kind: 'project', projectId: String(r['project_id']) } : { kind: 'cluster', clusterId: String(r['cluster_id']) };
      return { scope, hash: String(r['hash']) };
    },
    putCredential: async (projectId, cred, now, signal) => {
      await db.run(
        signal,
        `INSERT INTO credentials (project_id, server_address, auth, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, server_address) DO UPDATE SET auth = excluded.auth, updated_at = excluded.updated_at`,
        [projectId, cred.serverAddress, box.seal(JSON.stringify(cred.auth)), now],
      );
    },
    credentials: async (projectId, signal) =>
      (await db.rows(signal, 'SELECT server_address, auth FROM credentials WHERE project_id = $1', [projectId])).map((r): Credential => {
        let auth: Record<string, string> = {};
        try {
          auth = JSON.parse(box.open(String(r['auth']))) as Record<string, string>;
        } catch {
          auth = {};
        }
        return { serverAddress: String(r['server_address']), auth };
      }),
  };
}

async function getCluster(q: Q, id: string, lock = false): Promise<ReturnType<typeof toCluster> | undefined> {
  const r = await q.one(`SELECT * FROM clusters WHERE id = $1 AND NOT deleted${lock ? ' FOR UPDATE' : ''}`, [id]);
  return r === undefined ? undefined : toCluster(r);
}

export function clusterStore(db: PgDb): ClusterStore {
  return {
    createCluster: async (c, now, signal) => {
      const id = newId(now);
      await db.run(
        signal,
        `INSERT INTO clusters (id, name, owner_project_id, memory, disk_space, cpu_share, autoscale, is_default, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [id, c.name, c.ownerProjectId, c.memory, c.diskSpace, c.cpuShare, JSON.stringify(c.autoscale), c.isDefault, now, now],
      );
      return { ...c, id, createdAt: now, updatedAt: now };
    },
    getCluster: (id, signal) => db.withClient(signal, (q) => getCluster(q, id)),
    resolveCluster: (owner, idOrName, signal) =>
      db.withClient(signal, async (q) => {
        const r =
          idOrName === 'default'
            ? await q.one('SELECT * FROM clusters WHERE is_default AND NOT deleted ORDER BY created_at LIMIT 1')
            : ((await q.one('SELECT * FROM clusters WHERE id = $1 AND NOT deleted AND (owner_project_id = $2 OR is_default)', [idOrName, owner])) ??
              (await q.one('SELECT * FROM clusters WHERE owner_project_id = $1 AND name = $2 AND NOT deleted ORDER BY created_at LIMIT 1', [owner, idOrName])));
        return r === undefined ? undefined : toCluster(r);
      }),
    listClusters: async (owner, page, signal) =>
      (await db.rows(signal, 'SELECT * FROM clusters WHERE owner_project_id = $1 AND NOT deleted ORDER BY created_at, id LIMIT $2 OFFSET $3', [owner, page.perPage, page.page * page.perPage])).map(
        toCluster,
      ),
    countClusters: async (owner, signal) => Number((await db.one(signal, 'SELECT COUNT(*) AS n FROM clusters WHERE owner_project_id = $1 AND NOT deleted', [owner]))?.['n'] ?? 0),
    updateCluster: (id, patch, now, signal) =>
      db.tx(signal, async (q) => {
        const cur = await getCluster(q, id, true);
        if (cur === undefined) return undefined;
        const next = { ...cur, ...patch, autoscale: patch.autoscale === undefined ? cur.autoscale : { ...cur.autoscale, ...patch.autoscale } };
        const n = CLUSTER_UPDATE_COLUMNS.length;
        await q.run(`UPDATE clusters SET ${assignments(CLUSTER_UPDATE_COLUMNS, 1)}, updated_at = $${n + 1} WHERE id = $${n + 2}`, [...clusterUpdateValues(next), now, id]);
        return { ...next, updatedAt: now };
      }),
    deleteCluster: (id, signal) =>
      db.tx(signal, async (q) => {
        if ((await getCluster(q, id, true)) === undefined) return 'not_found';
        const busy = await q.one("SELECT 1 AS x FROM tasks WHERE cluster_id = $1 AND status IN ('queued','preparing','running') LIMIT 1", [id]);
        if (busy !== undefined) return 'busy';
        await q.run('UPDATE clusters SET deleted = true WHERE id = $1', [id]);
        await q.run("DELETE FROM tokens WHERE kind = 'cluster' AND cluster_id = $1", [id]);
        return 'deleted';
      }),
  };
}

export async function taskCounts(db: PgDb, f: TaskCountFilter, signal: AbortSignal): Promise<Record<TaskStatus, number>> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (col: string, op: string, v: string | number): void => {
    params.push(v);
    where.push(`${col} ${op} $${params.length}`);
  };
  if (f.clusterId !== undefined) add('cluster_id', '=', f.clusterId);
  if (f.codeId !== undefined) add('code_id', '=', f.codeId);
  if (f.since !== undefined) add('created_at', '>=', f.since);
  if (f.until !== undefined) add('created_at', '<=', f.until);
  const sql = `SELECT status, COUNT(*) AS n FROM tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY status`;
  const out = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const r of await db.rows(signal, sql, params)) {
    const s = String(r['status']) as TaskStatus;
    if (s in out) out[s] = Number(r['n']);
  }
  return out;
}
