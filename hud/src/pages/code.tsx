// One code: its settings and revisions, 24 h counts, Pause / Resume of its queue, and a form that
// queues a task of it.
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { useActions } from '../actions.js';
import { COUNTED, countOf, type CodeJson, type CodeStats, type RevisionJson } from '../code-types.js';
import { fmtBytes, fmtTime } from '../format.js';
import { ErrorAlert, Field, PlacementFields, TextArea, placement, useForm } from '../fields.js';
import { usePoll } from '../poll.js';
import { href } from '../route.js';

const LIVE_MS = 5000;

export function CodePage({ api, id }: { api: Api; id: string }) {
  const path = api.project(`/codes/${encodeURIComponent(id)}`);
  const code = usePoll((signal) => api.get<CodeJson>(path, signal), path, LIVE_MS);
  const stats = usePoll((signal) => api.get<CodeStats>(`${path}/stats`, signal), `${path}/stats`, LIVE_MS);
  const revisions = usePoll((signal) => api.get<{ revisions: RevisionJson[] }>(`${path}/revisions?per_page=20`, signal).then((j) => j.revisions), `${path}/revisions`, null);
  const actions = useActions();
  const c = code.data;
  const setPaused = (paused: boolean): void => {
    void actions.run(paused ? 'Pause' : 'Resume', async () => {
      await api.post(`${path}/${paused ? 'pause' : 'resume'}_task_queue`);
      code.refresh();
    });
  };
  return (
    <section>
      <h1>Code {c?.name ?? id}</h1>
      <ErrorAlert error={code.error} />
      {c !== undefined && (
        <>
          <div class="toolbar">
            <span>
              Queue: <strong data-field="paused">{c.paused ? 'paused' : 'running'}</strong>
            </span>
            <button type="button" onClick={() => setPaused(true)} disabled={actions.busy || c.paused}>
              Pause
            </button>
            <button type="button" onClick={() => setPaused(false)} disabled={actions.busy || !c.paused}>
              Resume
            </button>
            {actions.view}
          </div>
          <dl class="fields">
            <dt>Id</dt>
            <dd class="mono">{c.id}</dd>
            <dt>Image</dt>
            <dd class="mono">{c.image}</dd>
            <dt>Command</dt>
            <dd class="mono">{c.command}</dd>
            <dt>Revision</dt>
            <dd>{c.rev}</dd>
            <dt>Max concurrency</dt>
            <dd>{c.max_concurrency ?? 'unlimited'}</dd>
            <dt>Retries</dt>
            <dd>
              {c.retries} (delay {c.retries_delay} s)
            </dd>
            <dt>Default priority</dt>
            <dd>{c.default_priority ?? ''}</dd>
            <dt>Updated</dt>
            <dd>{fmtTime(c.updated_at)}</dd>
          </dl>
          <h2>Last 24 hours</h2>
          <dl class="fields">
            {COUNTED.map((s) => (
              <Fragment key={s}>
                <dt>{s}</dt>
                <dd data-status={s}>{countOf(stats.data, s)}</dd>
              </Fragment>
            ))}
          </dl>
          <QueueTask api={api} codeName={c.name} />
        </>
      )}
      <h2>Revisions</h2>
      <div class="scroll">
        <table aria-label="Revisions">
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Image</th>
              <th scope="col">Command</th>
              <th scope="col">Package</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {(revisions.data ?? []).map((r) => (
              <tr key={r.id}>
                <td>{r.rev}</td>
                <td class="mono">{r.image}</td>
                <td class="mono">{r.command}</td>
                <td>{r.file_name === '' ? '' : `${r.file_name} (${fmtBytes(r.code_size)})`}</td>
                <td>{fmtTime(r.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function QueueTask({ api, codeName }: { api: Api; codeName: string }) {
  const form = useForm({ payload: '{}', priority: '', cluster: '', delay: '', timeout: '' });
  const [queued, setQueued] = useState<string | undefined>(undefined);
  const actions = useActions();
  const submit = (e: Event): void => {
    e.preventDefault();
    setQueued(undefined);
    const v = form.values;
    void actions.run('Queue task', async () => {
      const task: Record<string, unknown> = { code_name: codeName, payload: v.payload, ...placement(v) };
      if (v.delay !== '') task['delay'] = Number(v.delay);
      if (v.timeout !== '') task['timeout'] = Number(v.timeout);
      const j = await api.post<{ tasks: Array<{ id: string }> }>(api.project('/tasks'), { tasks: [task] });
      setQueued(j.tasks[0]?.id);
    });
  };
  return (
    <form aria-label="Queue task" class="card" onSubmit={submit}>
      <h2>Queue task</h2>
      <div class="form-row">
        <TextArea label="Payload" rows={4} value={form.values.payload} onValue={form.set('payload')} />
      </div>
      <div class="form-row">
        <PlacementFields form={form} />
        <Field label="Delay" type="number" min={0} placeholder="seconds" value={form.values.delay} onValue={form.set('delay')} />
        <Field label="Timeout" type="number" min={0} placeholder="seconds" value={form.values.timeout} onValue={form.set('timeout')} />
        <button type="submit" disabled={actions.busy}>
          Queue task
        </button>
      </div>
      {actions.view}
      {queued !== undefined && (
        <p>
          Queued <a href={href.task(queued)}>{queued}</a>
        </p>
      )}
    </form>
  );
}
