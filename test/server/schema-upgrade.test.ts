// A version-1 database (before the ready flag and log_truncated) opens under version 2: the columns
// are added, delayed queued tasks wait for the ticker, ready ones stay reservable.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { Db } from '../../src/server/store/sqlite/db.js';
import { SCHEMA, SCHEMA_VERSION } from '../../src/server/store/sqlite/schema.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('schema upgrade 1 -> 2', () => {
  it('adds the columns and marks delayed tasks as waiting', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-schema-'));
    dirs.push(dir);
    const path = join(dir, 'iron.db');
    const v1 = new DatabaseSync(path);
    v1.exec(`${SCHEMA}\nPRAGMA user_version = 1;`);
    const insert = v1.prepare(`INSERT INTO tasks (id, project_id, code_id, code_name, code_history_id, code_rev, cluster_id, status, priority,
      timeout, delay, payload, label, created_at, updated_at, available_at) VALUES (?, 'p', 'c', 'n', 'h', 1, 'k', 'queued', 0, 60, 0, '', '', 0, 0, ?)`);
    insert.run('a'.repeat(24), 0);
    insert.run('b'.repeat(24), Date.now() + 3_600_000);
    v1.close();
    const db = new Db(path);
    try {
      const rows = db.all<{ id: string; ready: number; log_truncated: number }>('SELECT id, ready, log_truncated FROM tasks ORDER BY id');
      expect(rows).toEqual([
        { id: 'a'.repeat(24), ready: 1, log_truncated: 0 },
        { id: 'b'.repeat(24), ready: 0, log_truncated: 0 },
      ]);
      expect(db.get<{ user_version: number }>('PRAGMA user_version')?.user_version).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('2 -> 3: tasks get peak_memory and cpu_seconds (unknown on old rows), and the runner_instances table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-schema-'));
    dirs.push(dir);
    const path = join(dir, 'iron.db');
    // A version-2 database: the tables of then (no runner_instances), the version-2 columns.
    const v2 = new DatabaseSync(path);
    v2.exec(`${SCHEMA.slice(0, SCHEMA.indexOf('CREATE TABLE IF NOT EXISTS runner_instances'))}
      ALTER TABLE tasks ADD COLUMN ready INTEGER NOT NULL DEFAULT 1; ALTER TABLE tasks ADD COLUMN log_truncated INTEGER NOT NULL DEFAULT 0;
      PRAGMA user_version = 2;`);
    v2.prepare(
      `INSERT INTO tasks (id, project_id, code_id, code_name, code_history_id, code_rev, cluster_id, status, priority,
      timeout, delay, payload, label, created_at, updated_at, available_at) VALUES (?, 'p', 'c', 'n', 'h', 1, 'k', 'complete', 0, 60, 0, '', '', 0, 0, 0)`,
    ).run('c'.repeat(24));
    expect(v2.prepare("SELECT name FROM sqlite_master WHERE name = 'runner_instances'").all()).toEqual([]);
    v2.close();
    const db = new Db(path);
    try {
      expect(db.all('SELECT peak_memory, cpu_seconds FROM tasks')).toEqual([{ peak_memory: null, cpu_seconds: null }]);
      expect(db.all('SELECT * FROM runner_instances')).toEqual([]);
      expect(db.get<{ user_version: number }>('PRAGMA user_version')?.user_version).toBe(3);
    } finally {
      db.close();
    }
  });
});

describe('schema upgrade 2 -> 3', () => {
  it("adds the task list's indexes and drops the one they supersede, keeping the rows", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-schema-'));
    dirs.push(dir);
    const path = join(dir, 'iron.db');
    const v2 = new DatabaseSync(path);
    v2.exec(`${SCHEMA}\nCREATE INDEX tasks_project ON tasks (project_id, seq);\nPRAGMA user_version = 2;`);
    v2.prepare(
      `INSERT INTO tasks (id, project_id, code_id, code_name, code_history_id, code_rev, cluster_id, status, priority,
      timeout, delay, payload, label, created_at, updated_at, available_at) VALUES (?, 'p', 'c', 'n', 'h', 1, 'k', 'queued', 0, 60, 0, '', '', 0, 0, 0)`,
    ).run('a'.repeat(24));
    v2.close();
    const db = new Db(path);
    try {
      const names = db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks'").map((r) => r.name);
      expect(names).toEqual(expect.arrayContaining(['tasks_list', 'tasks_list_status', 'tasks_list_code', 'tasks_list_cluster', 'tasks_list_label', 'tasks_code_time']));
      expect(names).not.toContain('tasks_project');
      expect(db.all('SELECT id FROM tasks')).toEqual([{ id: 'a'.repeat(24) }]);
      expect(db.get<{ user_version: number }>('PRAGMA user_version')?.user_version).toBe(3);
    } finally {
      db.close();
    }
  });
});
