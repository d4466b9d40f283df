// One task: every field, the payload (or only its size when it is encrypted), the log followed live
// while the task runs, Cancel and Retry.
import { Fragment, type ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, type Api } from '../api.js';
import { useActions } from '../actions.js';
import { encryptedSize, fmtBytes, fmtDuration, fmtTime } from '../format.js';
import { LogView } from '../log-view.js';
import { ErrorAlert } from '../fields.js';
import { usePoll } from '../poll.js';
import { href } from '../route.js';
import { isActive, type TaskJson } from '../task-types.js';

const LIVE_MS = 2000;

export function TaskPage({ api, id }: { api: Api; id: string }) {
  const path = api.project(`/tasks/${encodeURIComponent(id)}`);
  const [active, setActive] = useState(true);
  const task = usePoll(
    async (signal) => {
      const t = await api.get<TaskJson>(path, signal);
      setActive(isActive(t.status));
      return t;
    },
    path,
    active ? LIVE_MS : null,
  );
  // The log follows while the task runs; once it ended, one more read gets its last lines.
  const log = usePoll(
    // No log yet (a task that has not run) is a 404: an empty log, not an error.
    async (signal) => {
      try {
        return await api.text(`${path}/log`, signal);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return '';
        throw err;
      }
    },
    `${path}|${task.data?.status ?? ''}`,
    active ? LIVE_MS : null,
  );
  const actions = useActions();
  const [retried, setRetried] = useState<string | undefined>(undefined);
  const t = task.data;
  const cancel = (): void => {
    void actions.run('Cancel', async () => {
      await api.post(`${path}/cancel`);
      setActive(true);
      task.refresh();
    });
  };
  const retry = (): void => {
    void actions.run('Retry', async () => {
      const j = await api.post<{ tasks: Array<{ id: string }> }>(`${path}/retry`);
      setRetried(j.tasks[0]?.id);
      task.refresh();
    });
  };
  return (
    <section>
      <h1>Task {id}</h1>
      <ErrorAlert error={task.error} />
      <div class="toolbar">
        <button type="button" onClick={cancel} disabled={actions.busy || t === undefined || !isActive(t.status)}>
          Cancel
        </button>
        <button type="button" onClick={retry} disabled={actions.busy || t === undefined || isActive(t.status)}>
          Retry
        </button>
        {actions.view}
        {retried !== undefined && (
          <span>
            Retried as <a href={href.task(retried)}>{retried}</a>
          </span>
        )}
      </div>
      {t !== undefined && <Fields t={t} />}
      {t !== undefined && <Payload payload={t.payload} />}
      <section aria-labelledby="log-heading">
        <h2 id="log-heading">Log</h2>
        {log.error !== undefined && <p class="error">{log.error}</p>}
        {t?.log_truncated === true && <p class="muted">The log was truncated (its size cap was reached).</p>}
        <LogView text={log.data ?? ''} />
        {t !== undefined && isActive(t.status) && <p class="muted">Following the log while the task runs…</p>}
      </section>
    </section>
  );
}

function Payload({ payload }: { payload: string }) {
  const size = encryptedSize(payload);
  return (
    <section aria-labelledby="payload-heading">
      <h2 id="payload-heading">Payload</h2>
      {size !== undefined ? <p>encrypted ({size} bytes)</p> : <pre tabIndex={0}>{payload}</pre>}
    </section>
  );
}

function Fields({ t }: { t: TaskJson }) {
  const rows: Array<[string, string, ComponentChildren]> = [
    ['status', 'Status', <span class={`status status-${t.status}`}>{t.status}</span>],
    ['msg', 'Message', t.msg ?? ''],
    ['code_name', 'Code', <a href={href.code(t.code_id)}>{t.code_name}</a>],
    ['code_rev', 'Revision', t.code_rev],
    ['label', 'Label', t.label ?? ''],
    ['cluster', 'Cluster', t.cluster],
    ['priority', 'Priority', String(t.priority)],
    ['timeout', 'Timeout', `${t.timeout} s`],
    ['delay', 'Delay', `${t.delay} s`],
    ['attempt', 'Attempt', t.attempt === undefined ? '' : String(t.attempt)],
    ['retry_count', 'Retry count', String(t.retry_count)],
    ['retry_of', 'Retry of', t.retry_of === undefined ? '' : <a href={href.task(t.retry_of)}>{t.retry_of}</a>],
    ['retry_task_id', 'Retried as', t.retry_task_id === undefined ? '' : <a href={href.task(t.retry_task_id)}>{t.retry_task_id}</a>],
    ['schedule_id', 'Schedule', t.schedule_id ?? ''],
    ['percent', 'Progress', t.percent === undefined ? '' : `${t.percent} %`],
    ['created_at', 'Queued', fmtTime(t.created_at)],
    ['start_time', 'Started', fmtTime(t.start_time)],
    ['end_time', 'Ended', fmtTime(t.end_time)],
    ['updated_at', 'Updated', fmtTime(t.updated_at)],
    ['duration', 'Duration', fmtDuration(t.duration)],
    ['exit_code', 'Exit code', t.exit_code === undefined ? '' : String(t.exit_code)],
    ['peak_memory', 'Peak memory', fmtBytes(t.peak_memory)],
    ['cpu_seconds', 'CPU time', t.cpu_seconds === undefined ? '' : `${t.cpu_seconds.toFixed(2)} s`],
    ['log_size', 'Log size', fmtBytes(t.log_size)],
  ];
  return (
    <dl class="fields">
      {rows.map(([key, name, value]) => (
        <Fragment key={key}>
          <dt>{name}</dt>
          <dd data-field={key}>{value}</dd>
        </Fragment>
      ))}
    </dl>
  );
}
