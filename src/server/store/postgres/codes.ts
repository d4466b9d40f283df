// Code packages and their revisions in PostgreSQL (the rules of sqlite/codes.ts). A concurrent first
// upload of one name on two replicas: the unique index codes_name refuses the second insert, which
// then retries as an upload of a new revision of the code the first created.
import { newId } from '../../ids.js';
import type { CodeStore } from '../ports.js';
import type { Code, CodeInput, CodeRevision } from '../records.js';
import { toCode, toRevision } from '../rows.js';
import { assignments, CODE_SETTING_COLUMNS, codeSettingValues, placeholders, REVISION_COLUMNS, revisionValues, SELECT_CODE } from '../columns.js';
import { sqlState, type PgDb, type Q } from './db.js';

async function putCodeOnce(q: Q, input: CodeInput, now: number): Promise<Code> {
  const existing = await q.one('SELECT id, rev FROM codes WHERE project_id = $1 AND name = $2 AND NOT deleted FOR UPDATE', [input.projectId, input.name]);
  const codeId = existing === undefined ? newId(now) : String(existing['id']);
  const rev = existing === undefined ? 1 : Number(existing['rev']) + 1;
  const historyId = newId(now);
  if (existing === undefined) {
    const n = CODE_SETTING_COLUMNS.length;
    await q.run(
      `INSERT INTO codes (id, project_id, name, rev, history_id, ${CODE_SETTING_COLUMNS.join(', ')}, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, ${placeholders(n, 6)}, $${n + 6}, $${n + 6})`,
      [codeId, input.projectId, input.name, rev, historyId, ...codeSettingValues(input), now],
    );
  } else {
    const n = CODE_SETTING_COLUMNS.length;
    await q.run(`UPDATE codes SET rev = $1, history_id = $2, ${assignments(CODE_SETTING_COLUMNS, 3)}, updated_at = $${n + 3} WHERE id = $${n + 4}`, [
      rev,
      historyId,
      ...codeSettingValues(input),
      now,
      codeId,
    ]);
  }
  const cols = REVISION_COLUMNS.length;
  await q.run(
    `INSERT INTO code_revisions (id, code_id, project_id, name, rev, ${REVISION_COLUMNS.join(', ')}, created_at)
     VALUES ($1, $2, $3, $4, $5, ${placeholders(cols, 6)}, $${cols + 6})`,
    [historyId, codeId, input.projectId, input.name, rev, ...revisionValues(input), now],
  );
  const r = await q.one(`${SELECT_CODE} WHERE c.id = $1 AND NOT c.deleted`, [codeId]);
  if (r === undefined) throw new Error('code vanished inside its own transaction');
  return toCode(r);
}

export function codeStore(db: PgDb): CodeStore {
  return {
    putCode: async (input, now, signal) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await db.tx(signal, (q) => putCodeOnce(q, input, now));
        } catch (err) {
          if (sqlState(err) !== '23505' || attempt >= 3) throw err;
        }
      }
    },
    getCode: async (projectId, id, signal) => {
      const r = await db.one(signal, `${SELECT_CODE} WHERE c.id = $1 AND c.project_id = $2 AND NOT c.deleted`, [id, projectId]);
      return r === undefined ? undefined : toCode(r);
    },
    getCodeByName: async (projectId, name, signal) => {
      const r = await db.one(signal, `${SELECT_CODE} WHERE c.project_id = $1 AND c.name = $2 AND NOT c.deleted`, [projectId, name]);
      return r === undefined ? undefined : toCode(r);
    },
    listCodes: async (projectId, page, signal) =>
      (await db.rows(signal, `${SELECT_CODE} WHERE c.project_id = $1 AND NOT c.deleted ORDER BY c.created_at, c.id LIMIT $2 OFFSET $3`, [projectId, page.perPage, page.page * page.perPage])).map(
        toCode,
      ),
    countCodes: async (projectId, signal) => Number((await db.one(signal, 'SELECT COUNT(*) AS n FROM codes WHERE project_id = $1 AND NOT deleted', [projectId]))?.['n'] ?? 0),
    listRevisions: async (projectId, codeId, page, signal) =>
      (
        await db.rows(signal, 'SELECT * FROM code_revisions WHERE code_id = $1 AND project_id = $2 ORDER BY rev DESC LIMIT $3 OFFSET $4', [codeId, projectId, page.perPage, page.page * page.perPage])
      ).map(toRevision),
    getRevision: (id, signal) => db.withClient(signal, (q) => getRevision(q, id)),
    setRevisionSha256: async (id, sha256, signal) => {
      await db.run(signal, "UPDATE code_revisions SET sha256 = $1 WHERE id = $2 AND sha256 = ''", [sha256, id]);
    },
    deleteCode: async (projectId, id, now, signal) =>
      (await db.run(signal, 'UPDATE codes SET deleted = true, updated_at = $1 WHERE id = $2 AND project_id = $3 AND NOT deleted', [now, id, projectId])) > 0,
    setCodePaused: async (projectId, id, paused, now, signal) =>
      (await db.run(signal, 'UPDATE codes SET paused = $1, updated_at = $2 WHERE id = $3 AND project_id = $4 AND NOT deleted', [paused, now, id, projectId])) > 0,
  };
}

export async function getRevision(q: Q, id: string): Promise<CodeRevision | undefined> {
  const r = await q.one('SELECT * FROM code_revisions WHERE id = $1', [id]);
  return r === undefined ? undefined : toRevision(r);
}
