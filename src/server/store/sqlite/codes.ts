// Code packages and their revisions. A re-upload of a name adds a revision; tasks stay pinned to the
// revision current when they were queued (Iron's rule), so revisions are never rewritten.
import { newId } from '../../ids.js';
import type { Code, CodeInput, CodeRevision, Page } from '../records.js';
import { assignments, CODE_SETTING_COLUMNS, codeSettingValues, placeholders, REVISION_COLUMNS, revisionValues, SELECT_CODE } from '../columns.js';
import type { Db } from './db.js';
import { toCode, toRevision } from '../rows.js';

type R = Record<string, unknown>;

/** A memoized read (Db.memo): found rows only, so a code created later is never hidden. */
function memoized<T>(db: Db, key: string, read: () => T | undefined): T | undefined {
  const memo = db.memo();
  const kept = memo.get(key) as T | undefined;
  if (kept !== undefined) return kept;
  const fresh = read();
  if (fresh !== undefined) memo.set(key, fresh);
  return fresh;
}

export function putCode(db: Db, input: CodeInput, now: number): Code {
  try {
    return putCodeTx(db, input, now);
  } finally {
    // Committed or rolled back: the memo may hold this code's older rows either way.
    db.forget();
  }
}

function putCodeTx(db: Db, input: CodeInput, now: number): Code {
  return db.tx(() => {
    const existing = db.get<R>('SELECT id, rev, created_at FROM codes WHERE project_id = ? AND name = ? AND deleted = 0', input.projectId, input.name);
    const codeId = existing === undefined ? newId(now) : String(existing['id']);
    const rev = existing === undefined ? 1 : Number(existing['rev']) + 1;
    const historyId = newId(now);
    db.run(
      `INSERT INTO code_revisions (id, code_id, project_id, name, rev, ${REVISION_COLUMNS.join(', ')}, created_at)
       VALUES (?, ?, ?, ?, ?, ${placeholders(REVISION_COLUMNS.length)}, ?)`,
      historyId,
      codeId,
      input.projectId,
      input.name,
      rev,
      ...revisionValues(input),
      now,
    );
    if (existing === undefined) {
      db.run(
        `INSERT INTO codes (id, project_id, name, rev, history_id, ${CODE_SETTING_COLUMNS.join(', ')}, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ${placeholders(CODE_SETTING_COLUMNS.length)}, ?, ?)`,
        codeId,
        input.projectId,
        input.name,
        rev,
        historyId,
        ...codeSettingValues(input),
        now,
        now,
      );
    } else {
      db.run(`UPDATE codes SET rev = ?, history_id = ?, ${assignments(CODE_SETTING_COLUMNS)}, updated_at = ? WHERE id = ?`, rev, historyId, ...codeSettingValues(input), now, codeId);
    }
    const code = getCodeById(db, codeId);
    if (code === undefined) throw new Error('code vanished inside its own transaction');
    return code;
  });
}

function getCodeById(db: Db, id: string): Code | undefined {
  const r = db.get<R>(`${SELECT_CODE} WHERE c.id = ? AND c.deleted = 0`, id);
  return r === undefined ? undefined : toCode(r);
}

export function getCode(db: Db, projectId: string, id: string): Code | undefined {
  return memoized(db, `code\0${projectId}\0${id}`, () => {
    const r = db.get<R>(`${SELECT_CODE} WHERE c.id = ? AND c.project_id = ? AND c.deleted = 0`, id, projectId);
    return r === undefined ? undefined : toCode(r);
  });
}

export function getCodeByName(db: Db, projectId: string, name: string): Code | undefined {
  return memoized(db, `name\0${projectId}\0${name}`, () => {
    const r = db.get<R>(`${SELECT_CODE} WHERE c.project_id = ? AND c.name = ? AND c.deleted = 0`, projectId, name);
    return r === undefined ? undefined : toCode(r);
  });
}

export function listCodes(db: Db, projectId: string, page: Page): Code[] {
  return db.all<R>(`${SELECT_CODE} WHERE c.project_id = ? AND c.deleted = 0 ORDER BY c.created_at, c.id LIMIT ? OFFSET ?`, projectId, page.perPage, page.page * page.perPage).map(toCode);
}

export function countCodes(db: Db, projectId: string): number {
  return Number(db.get<R>('SELECT COUNT(*) AS n FROM codes WHERE project_id = ? AND deleted = 0', projectId)?.['n'] ?? 0);
}

export function listRevisions(db: Db, projectId: string, codeId: string, page: Page): CodeRevision[] {
  return db.all<R>('SELECT * FROM code_revisions WHERE code_id = ? AND project_id = ? ORDER BY rev DESC LIMIT ? OFFSET ?', codeId, projectId, page.perPage, page.page * page.perPage).map(toRevision);
}

export function getRevision(db: Db, id: string): CodeRevision | undefined {
  return memoized(db, `rev\0${id}`, () => {
    const r = db.get<R>('SELECT * FROM code_revisions WHERE id = ?', id);
    return r === undefined ? undefined : toRevision(r);
  });
}

/** Soft delete: queued tasks keep their pinned revision; the name becomes free for a new code. */
export function deleteCode(db: Db, projectId: string, id: string, now: number): boolean {
  const changed = db.run('UPDATE codes SET deleted = 1, updated_at = ? WHERE id = ? AND project_id = ? AND deleted = 0', now, id, projectId) > 0;
  db.forget();
  return changed;
}

export function setCodePaused(db: Db, projectId: string, id: string, paused: boolean, now: number): boolean {
  const changed = db.run('UPDATE codes SET paused = ?, updated_at = ? WHERE id = ? AND project_id = ? AND deleted = 0', paused ? 1 : 0, now, id, projectId) > 0;
  db.forget();
  return changed;
}

/** Records the sha256 of a revision's zip that was stored before iron-api recorded it. */
export function setRevisionSha256(db: Db, id: string, sha256: string): void {
  db.run("UPDATE code_revisions SET sha256 = ? WHERE id = ? AND sha256 = ''", sha256, id);
  db.forget();
}
