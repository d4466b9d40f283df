// The task list the HUD pages through, on 10,000 tasks in a real SQLite file: for every filter the
// HUD offers (status, code, cluster, label, time range, and none), EXPLAIN QUERY PLAN of the store's
// own query must read an index range in order, never scan the table or sort it; the first page's
// time is printed (measured, not asserted).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskFilter } from '../../src/server/store/records.js';
import { Db } from '../../src/server/store/sqlite/db.js';
import { listTasks, listTasksQuery } from '../../src/server/store/sqlite/tasks.js';

const N = 10_000;
const T0 = Date.UTC(2026, 0, 1);
const STATUSES = ['queued', 'running', 'complete', 'error', 'cancelled'];
let dir: string;
let db: Db;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iron-list-plan-'));
  db = new Db(join(dir, 'iron.db'));
  db.tx(() => {
    for (let i = 0; i < N; i++) {
      const project = i % 10 === 0 ? 'other' : 'p';
      db.run(
        `INSERT INTO tasks (id, project_id, code_id, code_name, code_history_id, code_rev, cluster_id, status, priority, timeout,
           delay, payload, label, created_at, updated_at, available_at) VALUES (?, ?, ?, ?, 'h', 1, ?, ?, 0, 60, 0, '{}', ?, ?, ?, ?)`,
        i.toString(16).padStart(24, '0'),
        project,
        `code${i % 20}`,
        `code${i % 20}`,
        `cluster${i % 3}`,
        STATUSES[i % STATUSES.length] ?? 'queued',
        i % 7 === 0 ? 'nightly' : '',
        T0 + i * 1000,
        T0 + i * 1000,
        T0 + i * 1000,
      );
    }
  });
  db.run('ANALYZE');
});

afterAll(async () => {
  db?.close();
  await rm(dir, { recursive: true, force: true });
});

const page = { projectId: 'p', page: 0, perPage: 50 } as const;
const mid = T0 + (N / 2) * 1000;
const FILTERS: Record<string, TaskFilter> = {
  none: page,
  status: { ...page, statuses: ['error'] },
  code: { ...page, codeName: 'code3' },
  cluster: { ...page, clusterId: 'cluster1' },
  label: { ...page, label: 'nightly' },
  'time range': { ...page, fromTime: mid - 3_600_000, toTime: mid },
  'code + time range': { ...page, codeName: 'code3', fromTime: mid - 3_600_000, toTime: mid },
  'status + time range': { ...page, statuses: ['complete'], fromTime: mid - 3_600_000 },
};

function plan(f: TaskFilter): string[] {
  const { sql, params } = listTasksQuery(f);
  return db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...params).map((r) => r.detail);
}

describe('task list on 10,000 tasks', () => {
  for (const [name, f] of Object.entries(FILTERS)) {
    it(`filter "${name}": an index range in order, no scan, no sort`, () => {
      const steps = plan(f);
      expect(steps.join(' | ')).toMatch(/SEARCH tasks USING (COVERING )?INDEX tasks_list/);
      expect(steps.join(' | ')).not.toMatch(/SCAN tasks|TEMP B-TREE/);
      const t = performance.now();
      const rows = listTasks(db, f);
      const ms = performance.now() - t;
      expect(rows.length).toBeGreaterThan(0);
      // Newest first, and every row matches the filter.
      for (let i = 1; i < rows.length; i++) expect((rows[i - 1]?.createdAt ?? 0) >= (rows[i]?.createdAt ?? 0)).toBe(true);
      for (const r of rows) {
        expect(r.projectId).toBe('p');
        if (f.codeName !== undefined) expect(r.codeName).toBe(f.codeName);
        if (f.statuses !== undefined) expect(f.statuses).toContain(r.status);
        if (f.fromTime !== undefined) expect(r.createdAt).toBeGreaterThanOrEqual(f.fromTime);
      }
      console.log(`task list, ${N} tasks, filter ${name}: first page ${rows.length} rows in ${ms.toFixed(2)} ms; plan: ${steps.join(' | ')}`);
    });
  }

  it('several statuses at once (v2 clients) still read a list index, never scan the table', () => {
    const steps = plan({ ...page, statuses: ['queued', 'running'] }).join(' | ');
    expect(steps).toMatch(/INDEX tasks_list/);
    expect(steps).not.toMatch(/SCAN tasks/);
  });
});
