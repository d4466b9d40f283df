// Projects, tokens, clusters and registry credentials in SQLite.
import { newId } from '../../ids.js';
import { TASK_STATUSES } from '../../../protocol/statuses.js';
import type { Cluster, Credential, Page, Project, TaskStatus, TokenScope } from '../records.js';
import type { SecretBox } from '../secret-box.js';
import { assignments, CLUSTER_UPDATE_COLUMNS, clusterUpdateValues } from '../columns.js';
import type { Db } from './db.js';
import { toCluster } from '../rows.js';

type R = Record<string, unknown>;

export function isEmpty(db: Db): boolean {
  return db.get<R>('SELECT 1 AS x FROM projects LIMIT 1') === undefined;
}

export function createProject(db: Db, name: string, now: number): Project {
  const id = newId(now);
  db.run('INSERT INTO projects (id, name, created_at) VALUES (?, ?, ?)', id, name, now);
  return { id, name, createdAt: now };
}

export function createFirstProject(db: Db, name: string, now: number): Project | undefined {
  return db.tx(() => (isEmpty(db) ? createProject(db, name, now) : undefined));
}

export function getProject(db: Db, id: string): Project | undefined {
  const r = db.get<R>('SELECT * FROM projects WHERE id = ?', id);
  return r === undefined ? undefined : { id: String(r['id']), name: String(r['name']), createdAt: Number(r['created_at']) };
}

export function addToken(db: Db, hash: string, scope: TokenScope, now: number): void {
  db.run(
    'INSERT INTO tokens (hash, kind, project_id, cluster_id, created_at) VALUES (?, ?, ?, ?, ?)',
    hash,
    scope.kind,
    scope.kind === 'project' ? scope.projectId : null,
    scope.kind === 'cluster' ? scope.clusterId : null,
    now,
  );
}

export function findToken(db: Db, hash: string): { scope: TokenScope; hash: string } | undefined {
  const r = db.get<R>('SELECT hash, kind, project_id, cluster_id FROM tokens WHERE hash = ?', hash);
  if (r === undefined) return undefined;
  const scope: TokenScope = r['kind'] === 'project' ? { kind: 'project', projectId: String(r['project_id']) } : { kind: 'cluster', clusterId: String(r['cluster_id']) };
  return { scope, hash: String(r['hash']) };
}

export function createCluster(db: Db, c: Omit<Cluster, 'id' | 'createdAt' | 'updatedAt'>, now: number): Cluster {
  const id = newId(now);
  db.run(
    `INSERT INTO clusters (id, name, owner_project_id, memory, disk_space, cpu_share, autoscale, is_default, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id,
    c.name,
    c.ownerProjectId,
    c.memory,
    c.diskSpace,
    c.cpuShare,
    JSON.stringify(c.autoscale),
    c.isDefault ? 1 : 0,
    now,
    now,
  );
  return { ...c, id, createdAt: now, updatedAt: now };
}

export function getCluster(db: Db, id: string): Cluster | undefined {
  const r = db.get<R>('SELECT * FROM clusters WHERE id = ? AND deleted = 0', id);
  return r === undefined ? undefined : toCluster(r);
}

export function resolveCluster(db: Db, owner: string, idOrName: string): Cluster | undefined {
  const r =
    idOrName === 'default'
      ? db.get<R>('SELECT * FROM clusters WHERE is_default = 1 AND deleted = 0 ORDER BY created_at LIMIT 1')
      : (db.get<R>('SELECT * FROM clusters WHERE id = ? AND deleted = 0 AND (owner_project_id = ? OR is_default = 1)', idOrName, owner) ??
        db.get<R>('SELECT * FROM clusters WHERE owner_project_id = ? AND name = ? AND deleted = 0 ORDER BY created_at LIMIT 1', owner, idOrName));
  return r === undefined ? undefined : toCluster(r);
}

export function listClusters(db: Db, owner: string, page: Page): Cluster[] {
  return db.all<R>('SELECT * FROM clusters WHERE owner_project_id = ? AND deleted = 0 ORDER BY created_at, id LIMIT ? OFFSET ?', owner, page.perPage, page.page * page.perPage).map(toCluster);
}

export function countClusters(db: Db, owner: string): number {
  return Number(db.get<R>('SELECT COUNT(*) AS n FROM clusters WHERE owner_project_id = ? AND deleted = 0', owner)?.['n'] ?? 0);
}

export function updateCluster(db: Db, id: string, patch: Partial<Pick<Cluster, 'name' | 'memory' | 'diskSpace' | 'cpuShare' | 'autoscale'>>, now: number): Cluster | undefined {
  return db.tx(() => {
    const cur = getCluster(db, id);
    if (cur === undefined) return undefined;
    const next = { ...cur, ...patch, autoscale: patch.autoscale === undefined ? cur.autoscale : { ...cur.autoscale, ...patch.autoscale } };
    db.run(`UPDATE clusters SET ${assignments(CLUSTER_UPDATE_COLUMNS)}, updated_at = ? WHERE id = ?`, ...clusterUpdateValues(next), now, id);
    return { ...next, updatedAt: now };
  });
}

export function deleteCluster(db: Db, id: string): 'deleted' | 'not_found' | 'busy' {
  return db.tx(() => {
    if (getCluster(db, id) === undefined) return 'not_found';
    const busy = db.get<R>("SELECT 1 AS x FROM tasks WHERE cluster_id = ? AND status IN ('queued','preparing','running') LIMIT 1", id);
    if (busy !== undefined) return 'busy';
    db.run('UPDATE clusters SET deleted = 1 WHERE id = ?', id);
    db.run("DELETE FROM tokens WHERE kind = 'cluster' AND cluster_id = ?", id);
    return 'deleted';
  });
}

export function taskCounts(db: Db, f: { clusterId?: string; codeId?: string; since?: number; until?: number }): Record<TaskStatus, number> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (f.clusterId !== undefined) {
    where.push('cluster_id = ?');
    params.push(f.clusterId);
  }
  if (f.codeId !== undefined) {
    where.push('code_id = ?');
    params.push(f.codeId);
  }
  if (f.since !== undefined) {
    where.push('created_at >= ?');
    params.push(f.since);
  }
  if (f.until !== undefined) {
    where.push('created_at <= ?');
    params.push(f.until);
  }
  const sql = `SELECT status, COUNT(*) AS n FROM tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY status`;
  const out = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const r of db.all<R>(sql, ...params)) {
    const s = String(r['status']) as TaskStatus;
    if (s in out) out[s] = Number(r['n']);
  }
  return out;
}

export function putCredential(db: Db, box: SecretBox, projectId: string, cred: Credential, now: number): void {
  db.run(
    `INSERT INTO credentials (project_id, server_address, auth, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (project_id, server_address) DO UPDATE SET auth = excluded.auth, updated_at = excluded.updated_at`,
    projectId,
    cred.serverAddress,
    box.seal(JSON.stringify(cred.auth)),
    now,
  );
}

export function credentials(db: Db, box: SecretBox, projectId: string): Credential[] {
  return db.all<R>('SELECT server_address, auth FROM credentials WHERE project_id = ?', projectId).map((r) => {
    let auth: Record<string, string> = {};
    try {
      auth = JSON.parse(box.open(String(r['auth']))) as Record<string, string>;
    } catch {
      auth = {};
    }
    return { serverAddress: String(r['server_address']), auth };
  });
}

/** Seals credentials stored in clear by an earlier version (run once at open). */
export function sealLegacyCredentials(db: Db, box: SecretBox): number {
  return db.tx(() => {
    let n = 0;
    for (const r of db.all<R>("SELECT rowid AS id, auth FROM credentials WHERE auth NOT LIKE 'v1:%'")) {
      db.run('UPDATE credentials SET auth = ? WHERE rowid = ?', box.seal(String(r['auth'])), Number(r['id']));
      n++;
    }
    return n;
  });
}
