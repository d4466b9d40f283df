// Schedules: the list with Cancel per row, and a form that creates one (POST /2/projects/{p}/schedules).
import { useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { useActions } from '../actions.js';
import { fmtTime } from '../format.js';
import { ErrorAlert, Field, Select, PlacementFields, TextArea, placement, useForm } from '../fields.js';
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
      <ErrorAlert error={list.error} />
      <div class="toolbar">{actions.view}</div>
      <div class="scroll">
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
      </div>
      {list.data !== undefined && rows.length === 0 && <p class="muted">No schedules.</p>}
      <CreateSchedule api={api} onCreated={list.refresh} />
    </section>
  );
}

type Stop = 'never' | 'at' | 'after';
const STOPS = [
  ['never', 'never'],
  ['at', 'at a date'],
  ['after', 'after N runs'],
] as const;

function CreateSchedule({ api, onCreated }: { api: Api; onCreated: () => void }) {
  const form = useForm({ code: '', payload: '{}', start: '', every: '', stopAt: '', runs: '', priority: '', cluster: '' });
  const [stop, setStop] = useState<Stop>('never');
  const [created, setCreated] = useState<string | undefined>(undefined);
  const actions = useActions();
  const v = form.values;
  const submit = (e: Event): void => {
    e.preventDefault();
    setCreated(undefined);
    void actions.run('Create schedule', async () => {
      const s: Record<string, unknown> = { code_name: v.code.trim(), payload: v.payload, ...placement(v) };
      if (v.start !== '') s['start_at'] = new Date(v.start).toISOString();
      if (v.every !== '') s['run_every'] = Number(v.every);
      if (stop === 'at' && v.stopAt !== '') s['end_at'] = new Date(v.stopAt).toISOString();
      if (stop === 'after' && v.runs !== '') s['run_times'] = Number(v.runs);
      const j = await api.post<{ schedules: Array<{ id: string }> }>(api.project('/schedules'), { schedules: [s] });
      setCreated(j.schedules[0]?.id);
      onCreated();
    });
  };
  return (
    <form aria-label="Create schedule" class="card" onSubmit={submit}>
      <h2>Create schedule</h2>
      <div class="form-row">
        <Field label="Code" required value={v.code} onValue={form.set('code')} />
        <TextArea label="Payload" rows={3} value={v.payload} onValue={form.set('payload')} />
      </div>
      <div class="form-row">
        <Field label="Start" type="datetime-local" value={v.start} onValue={form.set('start')} />
        <Field label="Run every" type="number" min={60} placeholder="seconds (once if empty)" value={v.every} onValue={form.set('every')} />
        <Select label="Stop" value={stop} onValue={(v) => setStop(v as Stop)} options={STOPS} />
        {stop === 'at' && <Field label="End date" type="datetime-local" required value={v.stopAt} onValue={form.set('stopAt')} />}
        {stop === 'after' && <Field label="Number of runs" type="number" min={1} required value={v.runs} onValue={form.set('runs')} />}
        <PlacementFields form={form} />
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
