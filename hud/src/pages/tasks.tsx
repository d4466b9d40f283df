// The task list: filters, search by id, pagination, live refresh, Cancel / Retry on selected rows.
import { useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { fmtBytes, fmtDuration, fmtTime, unixOf } from '../format.js';
import { ErrorAlert, Field, Select } from '../fields.js';
import { usePoll } from '../poll.js';
import { href } from '../route.js';
import { STATUSES, type TaskJson } from '../task-types.js';
import { useActions } from '../actions.js';

const PER_PAGE = 50;
const STATUS_OPTIONS = [['', 'any'] as const, ...STATUSES.map((s) => [s, s] as const)];
const LIVE_MS = 2000;

interface Filters {
  status: string;
  code: string;
  cluster: string;
  label: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { status: '', code: '', cluster: '', label: '', from: '', to: '' };

export function TasksPage({ api }: { api: Api }) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [page, setPage] = useState(0);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [search, setSearch] = useState('');
  const actions = useActions();
  const query = queryOf(filters, page);
  const list = usePoll((signal) => api.get<{ tasks: TaskJson[] }>(api.project(`/tasks?${query}`), signal).then((j) => j.tasks), query, LIVE_MS);
  const set = (k: keyof Filters) => (value: string) => {
    setFilters((prev) => ({ ...prev, [k]: value }));
    setPage(0);
  };
  const toggle = (id: string, on: boolean): void => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  const act = (what: 'cancel' | 'retry'): void => {
    const ids = [...selected];
    void actions.run(`${what === 'cancel' ? 'Cancel' : 'Retry'} ${ids.length} task(s)`, async () => {
      for (const id of ids) await api.post(api.project(`/tasks/${encodeURIComponent(id)}/${what}`));
      setSelected(new Set());
      list.refresh();
    });
  };
  const goSearch = (e: Event): void => {
    e.preventDefault();
    const id = search.trim();
    if (id !== '') location.hash = href.task(id);
  };
  const tasks = list.data ?? [];
  return (
    <section>
      <h1>Tasks</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Select label="Status" value={filters.status} onValue={set('status')} options={STATUS_OPTIONS} />
        <Field label="Code" value={filters.code} onValue={set('code')} />
        <Field label="Cluster" value={filters.cluster} onValue={set('cluster')} />
        <Field label="Label" value={filters.label} onValue={set('label')} />
        <Field label="From" type="datetime-local" value={filters.from} onValue={set('from')} />
        <Field label="To" type="datetime-local" value={filters.to} onValue={set('to')} />
      </form>
      <form class="search" onSubmit={goSearch} role="search">
        <Field label="Task id" type="search" value={search} onValue={setSearch} />
        <button type="submit">Search</button>
      </form>
      <div class="toolbar">
        <button type="button" disabled={selected.size === 0} onClick={() => act('cancel')}>
          Cancel
        </button>
        <button type="button" disabled={selected.size === 0} onClick={() => act('retry')}>
          Retry
        </button>
        <span class="muted">{selected.size} selected</span>
        {actions.view}
      </div>
      <ErrorAlert error={list.error} />
      <div class="scroll">
        <table aria-label="Tasks">
          <thead>
            <tr>
              <th scope="col">
                <span class="sr-only">Select</span>
              </th>
              <th scope="col">Task</th>
              <th scope="col">Status</th>
              <th scope="col">Code</th>
              <th scope="col">Label</th>
              <th scope="col">Cluster</th>
              <th scope="col">Priority</th>
              <th scope="col">Attempt</th>
              <th scope="col">Queued</th>
              <th scope="col">Started</th>
              <th scope="col">Ended</th>
              <th scope="col">Duration</th>
              <th scope="col">Peak memory</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr key={t.id}>
                <td>
                  <input type="checkbox" aria-label={`Select task ${t.id}`} checked={selected.has(t.id)} onChange={(e) => toggle(t.id, e.currentTarget.checked)} />
                </td>
                <td>
                  <a href={href.task(t.id)} class="mono">
                    {t.id}
                  </a>
                </td>
                <td>
                  <span class={`status status-${t.status}`}>{t.status}</span>
                </td>
                <td>{t.code_name}</td>
                <td>{t.label ?? ''}</td>
                <td class="mono">{t.cluster}</td>
                <td>{t.priority}</td>
                <td>{t.attempt ?? ''}</td>
                <td>{fmtTime(t.created_at)}</td>
                <td>{fmtTime(t.start_time)}</td>
                <td>{fmtTime(t.end_time)}</td>
                <td>{fmtDuration(t.duration)}</td>
                <td>{fmtBytes(t.peak_memory)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data !== undefined && tasks.length === 0 && <p class="muted">No tasks match.</p>}
      <div class="pager">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Previous
        </button>
        <span>Page {page + 1}</span>
        <button type="button" disabled={tasks.length < PER_PAGE} onClick={() => setPage(page + 1)}>
          Next
        </button>
      </div>
    </section>
  );
}

function queryOf(f: Filters, page: number): string {
  const q = new URLSearchParams({ page: String(page), per_page: String(PER_PAGE) });
  if (f.status !== '') q.set(f.status, '1');
  if (f.code.trim() !== '') q.set('code_name', f.code.trim());
  if (f.cluster.trim() !== '') q.set('cluster', f.cluster.trim());
  if (f.label.trim() !== '') q.set('label', f.label.trim());
  const from = unixOf(f.from);
  const to = unixOf(f.to);
  if (from !== undefined) q.set('from_time', String(from));
  if (to !== undefined) q.set('to_time', String(to));
  return q.toString();
}
