// Every code of the project with its last 24 h of tasks by status, its revision and its limits.
import type { Api } from '../api.js';
import { COUNTED, countOf, type CodeJson, type CodeStats } from '../code-types.js';
import { ErrorAlert } from '../fields.js';
import { usePoll } from '../poll.js';
import { href } from '../route.js';

const LIVE_MS = 5000;

interface Row {
  code: CodeJson;
  stats: CodeStats | undefined;
}

export function CodesPage({ api }: { api: Api }) {
  const list = usePoll(
    async (signal): Promise<Row[]> => {
      const { codes } = await api.get<{ codes: CodeJson[] }>(api.project('/codes?per_page=100'), signal);
      return Promise.all(
        codes.map(async (code) => ({
          code,
          stats: await api.get<CodeStats>(api.project(`/codes/${encodeURIComponent(code.id)}/stats`), signal).catch(() => undefined),
        })),
      );
    },
    'codes',
    LIVE_MS,
  );
  const rows = list.data ?? [];
  return (
    <section>
      <h1>Codes</h1>
      <ErrorAlert error={list.error} />
      <div class="scroll">
        <table aria-label="Codes">
          <thead>
            <tr>
              <th scope="col">Name</th>
              {COUNTED.map((s) => (
                <th scope="col">{s} (24 h)</th>
              ))}
              <th scope="col">Revision</th>
              <th scope="col">Max concurrency</th>
              <th scope="col">Retries</th>
              <th scope="col">Queue</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ code, stats }) => (
              <tr key={code.id}>
                <td>
                  <a href={href.code(code.id)}>{code.name}</a>
                </td>
                {COUNTED.map((s) => (
                  <td data-status={s}>{countOf(stats, s)}</td>
                ))}
                <td>{code.rev}</td>
                <td>{code.max_concurrency ?? 'unlimited'}</td>
                <td>{code.retries === 0 ? '0' : `${code.retries} (after ${code.retries_delay} s)`}</td>
                <td>{code.paused ? 'paused' : 'running'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data !== undefined && rows.length === 0 && <p class="muted">No codes yet: register one with `iron register`.</p>}
    </section>
  );
}
