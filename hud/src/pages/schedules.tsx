// Schedules: the list with Cancel per row, and a form that creates one (POST /2/projects/{p}/schedules).
import { useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { useActions } from '../actions.js';
import { fmtTime } from '../format.js';
import { usePoll } from '../poll.js';

const LIVE_MS = 5000;

interface ScheduleJson {
  id: string;
  code_name: string;
  name: string;
  status: string;
  cluster: string;
  run_times: number;
  run_count: number;
  run_every?: number;
  priority?: number;
  label?: string;
  start_at: string;
  end_at: string;
  next_start: string;
  last_run_time: string;
}

export function SchedulesPage({ api }: { api: Api }) {
  const list = usePoll((signal) => api.get<{ schedules: ScheduleJson[] }>(api.project('/schedules?per_page=100'), signal).then((j) => j.schedules), 'schedules', LIVE_MS);
  const actions = useActions();
  const cancel = (id: string): void => {
    void actions.run(`Cancel schedule ${id}`, async () => {
      await api.post(api.project(`/schedules/${encodeURIComponent(id)}/cancel`));
      list.refresh();
    });
  };
  const rows = list.data ?? [];
  return (
    <section>
      <h1>Schedules</h1>
      {list.error !== undefined && (
        <p role="alert" class="error">
          {list.error}
        </p>
      )}
      <div class="toolbar">{actions.view}</div>
      <table aria-label="Schedules">
        <thead>
          <tr>
            <th scope="col">Schedule</th>
            <th scope="col">Code</th>
            <th scope="col">Status</th>
            <th scope="col">Next start</th>
            <th scope="col">Run every</th>
            <th scope="col">Runs</th>
            <th scope="col">Ends</th>
            <th scope="col">Last run</th>
            <th scope="col">Priority</th>
            <th scope="col">Cluster</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => (
            <tr key={s.id}>
              <td class="mono">{s.id}</td>
              <td>{s.code_name}</td>
              <td>{s.status}</td>
              <td>{fmtTime(s.next_start)}</td>
              <td>{s.run_every === undefined ? 'once' : `${s.run_every} s`}</td>
              <td>{s.run_times > 0 ? `${s.run_count} of ${s.run_times}` : String(s.run_count)}</td>
              <td>{fmtTime(s.end_at)}</td>
              <td>{fmtTime(s.last_run_time)}</td>
              <td>{s.priority ?? ''}</td>
              <td class="mono">{s.cluster}</td>
              <td>
                <button type="button" onClick={() => cancel(s.id)} disabled={actions.busy || s.status !== 'scheduled'}>
                  Cancel
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data !== undefined && rows.length === 0 && <p class="muted">No schedules.</p>}
      <CreateSchedule api={api} onCreated={list.refresh} />
    </section>
  );
}

type Stop = 'never' | 'at' | 'after';

function CreateSchedule({ api, onCreated }: { api: Api; onCreated: () => void }) {
  const [code, setCode] = useState('');
  const [payload, setPayload] = useState('{}');
  const [start, setStart] = useState('');
  const [every, setEvery] = useState('');
  const [stop, setStop] = useState<Stop>('never');
  const [stopAt, setStopAt] = useState('');
  const [runs, setRuns] = useState('');
  const [priority, setPriority] = useState('');
  const [cluster, setCluster] = useState('');
  const [created, setCreated] = useState<string | undefined>(undefined);
  const actions = useActions();
  const submit = (e: Event): void => {
    e.preventDefault();
    setCreated(undefined);
    void actions.run('Create schedule', async () => {
      const s: Record<string, unknown> = { code_name: code.trim(), payload };
      if (start !== '') s['start_at'] = new Date(start).toISOString();
      if (every !== '') s['run_every'] = Number(every);
      if (stop === 'at' && stopAt !== '') s['end_at'] = new Date(stopAt).toISOString();
      if (stop === 'after' && runs !== '') s['run_times'] = Number(runs);
      if (priority !== '') s['priority'] = Number(priority);
      if (cluster.trim() !== '') s['cluster'] = cluster.trim();
      const j = await api.post<{ schedules: Array<{ id: string }> }>(api.project('/schedules'), { schedules: [s] });
      setCreated(j.schedules[0]?.id);
      onCreated();
    });
  };
  return (
    <form aria-label="Create schedule" class="card" onSubmit={submit}>
      <h2>Create schedule</h2>
      <div class="form-row">
        <label>
          Code
          <input type="text" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        </label>
        <label>
          Payload
          <textarea rows={3} cols={50} spellcheck={false} value={payload} onInput={(e) => setPayload(e.currentTarget.value)} />
        </label>
      </div>
      <div class="form-row">
        <label>
          Start
          <input type="datetime-local" value={start} onInput={(e) => setStart(e.currentTarget.value)} />
        </label>
        <label>
          Run every
          <input type="number" min={60} placeholder="seconds (once if empty)" value={every} onInput={(e) => setEvery(e.currentTarget.value)} />
        </label>
        <label>
          Stop
          <select value={stop} onChange={(e) => setStop(e.currentTarget.value as Stop)}>
            <option value="never">never</option>
            <option value="at">at a date</option>
            <option value="after">after N runs</option>
          </select>
        </label>
        {stop === 'at' && (
          <label>
            End date
            <input type="datetime-local" required value={stopAt} onInput={(e) => setStopAt(e.currentTarget.value)} />
          </label>
        )}
        {stop === 'after' && (
          <label>
            Number of runs
            <input type="number" min={1} required value={runs} onInput={(e) => setRuns(e.currentTarget.value)} />
          </label>
        )}
        <label>
          Priority
          <input type="number" min={0} max={2} placeholder="code default" value={priority} onInput={(e) => setPriority(e.currentTarget.value)} />
        </label>
        <label>
          Cluster
          <input type="text" placeholder="default" value={cluster} onInput={(e) => setCluster(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={actions.busy}>
          Create schedule
        </button>
      </div>
      {actions.view}
      {created !== undefined && (
        <p role="status">
          Created schedule <span class="mono">{created}</span>
        </p>
      )}
    </form>
  );
}
