// The log and the metrics as subscribers of the runner's events: each event is one line with its
// stable `event` name, the operator's message and fields; lines of a task carry its labels; and the
// lifecycle counters follow the events.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { RunnerEvents } from '../../src/runner/events.js';
import { subscribeLog } from '../../src/runner/log-subscriber.js';
import { subscribeMetrics } from '../../src/runner/metrics-subscriber.js';
import { RunnerMetrics } from '../../src/runner/metrics.js';
import { parseStrictJson } from '../helpers/strict-json.js';

function logged(): { events: RunnerEvents; lines: () => Array<Record<string, unknown>>; errors: unknown[] } {
  const out: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ level: 'debug', name: 'iron-runner', destination: destination as unknown as NodeJS.WritableStream & { write(s: string): boolean } });
  const errors: unknown[] = [];
  const events = new RunnerEvents((err) => errors.push(err));
  subscribeLog(events, log);
  return { events, lines: () => out.map((l) => parseStrictJson(l) as Record<string, unknown>), errors };
}

async function counter(m: RunnerMetrics, name: string): Promise<Record<string, number>> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return Object.fromEntries((metric?.values ?? []).map((v) => [Object.values(v.labels).join(',') || '', v.value]));
}

describe('the log subscriber', () => {
  it('writes each event as one line: the event name, the message and fields operators know', () => {
    const { events, lines, errors } = logged();
    events.emit('api.connected', { clusterId: 'c1', clusterName: 'default', api: 'http://127.0.0.1:1' });
    events.emit('heartbeat.failed', { code: 'ERR_API_NETWORK', tasks: 2 });
    events.emit('runner.draining', { running: 1, drainTimeoutMs: 5_000 });
    expect(lines()).toEqual([
      expect.objectContaining({ event: 'api.connected', level: 'info', msg: 'cluster found; polling for tasks', cluster_id: 'c1', cluster_name: 'default', api: 'http://127.0.0.1:1' }),
      expect.objectContaining({ event: 'heartbeat.failed', level: 'warn', component: 'heartbeat', code: 'ERR_API_NETWORK', tasks: 2 }),
      expect.objectContaining({ event: 'runner.draining', level: 'info', running: 1, drain_timeout_ms: 5_000 }),
    ]);
    expect(errors).toEqual([]);
  });

  it('labels every line of a task with its code and attempt, until its last run frees the slot', () => {
    const { events, lines } = logged();
    events.emit('task.reserved', { taskId: 't1', reservationId: 'r1', image: 'busybox', codeName: 'hello', attempt: 1 });
    events.emit('task.finished', { taskId: 't1', status: 'complete', reason: '', exitCode: 0, durationMs: 12, logBytes: 3, ageMs: 40 });
    events.emit('task.released', { taskId: 't1' });
    events.emit('task.given_back', { taskId: 't1', why: 'runner restarted' });
    const [reserved, finished, released, back] = lines();
    expect(reserved).toMatchObject({ event: 'task.reserved', msg: 'task reserved', task_id: 't1', code_name: 'hello', attempt: 1, image: 'busybox' });
    expect(finished).toMatchObject({
      event: 'task.finished',
      msg: 'task finished',
      task_id: 't1',
      code_name: 'hello',
      attempt: 1,
      status: 'complete',
      reason: '',
      exit_code: 0,
      duration_ms: 12,
      log_size: 3,
      age_ms: 40,
    });
    expect(released).toMatchObject({ event: 'task.released', level: 'debug', task_id: 't1', code_name: 'hello' });
    // After its slot is free the task is unknown here: a give-back at startup names only the task.
    expect(back).toMatchObject({ event: 'task.given_back', msg: 'gave a task back', task_id: 't1', why: 'runner restarted' });
    expect(back).not.toHaveProperty('code_name');
  });

  it('a task reserved again while its earlier run still holds a slot keeps its labels until both are released', () => {
    const { events, lines } = logged();
    events.emit('task.reserved', { taskId: 't1', reservationId: 'r1', image: 'i', codeName: 'c', attempt: 1 });
    events.emit('task.reserved', { taskId: 't1', reservationId: 'r2', image: 'i', codeName: 'c', attempt: 2 });
    events.emit('task.released', { taskId: 't1' });
    events.emit('task.finished', { taskId: 't1', status: 'complete', reason: '', exitCode: 0, durationMs: 1, logBytes: 0, ageMs: 1 });
    expect(lines()[3]).toMatchObject({ event: 'task.finished', attempt: 2, code_name: 'c' });
  });

  it('leaves out repeats of a long outage: the first reserve failure and every 20th', () => {
    const { events, lines } = logged();
    for (let attempt = 1; attempt <= 40; attempt++) {
      events.emit('api.failed', { phase: 'reserve', code: 'ERR_API_NETWORK', reason: 'ECONNREFUSED', attempt, auth: false, api: 'http://a' });
    }
    expect(lines().map((l) => l['failures'])).toEqual([1, 20, 40]);
    expect(lines()[0]).toMatchObject({ event: 'api.failed', phase: 'reserve', msg: 'reserve failed; backing off', reason: 'ECONNREFUSED', api: 'http://a' });
  });

  it('a subscriber that throws is reported, and the others still see the event', () => {
    const { events, lines, errors } = logged();
    events.on('engine.down', () => {
      throw new Error('broken subscriber');
    });
    events.emit('engine.down', {});
    expect(errors).toHaveLength(1);
    expect(lines()).toEqual([expect.objectContaining({ event: 'engine.down', level: 'error' })]);
  });
});

describe('the metrics subscriber', () => {
  it('counts outcomes, give-backs, failed calls, warm-ups and code downloads from the events', async () => {
    const events = new RunnerEvents();
    const m = new RunnerMetrics();
    subscribeMetrics(events, m);
    events.emit('task.finished', { taskId: 'a', status: 'complete', reason: '', exitCode: 0, durationMs: 1, logBytes: 0, ageMs: 1 });
    events.emit('task.finished', { taskId: 'b', status: 'killed', reason: 'oom', exitCode: 137, durationMs: 1, logBytes: 0, ageMs: 1 });
    events.emit('task.given_back', { taskId: 'c', why: 'drain' });
    events.emit('api.failed', { phase: 'reserve', code: 'ERR_API_NETWORK', reason: 'x', attempt: 3, auth: false, api: 'http://a' });
    // Startup checks are not counted as failed calls (as before); a superseded report is not a failed call.
    events.emit('api.failed', { phase: 'cluster', code: 'ERR_API_NETWORK', reason: 'x', attempt: 1, auth: false, api: 'http://a' });
    events.emit('task.report_failed', { taskId: 'd', status: 'complete', code: 'ERR_API_CONFLICT' });
    events.emit('task.report_failed', { taskId: 'e', status: 'error', code: 'ERR_API_UNAVAILABLE' });
    events.emit('heartbeat.failed', { code: 'ERR_API_NETWORK', tasks: 1 });
    events.emit('image.warmed', { image: 'i', projectId: 'p', ms: 5 });
    events.emit('image.warm_failed', { image: 'j', projectId: 'p', reason: 'not found' });
    events.emit('code.downloaded', { sha256: 'ab', bytes: 100 });
    events.emit('runner.draining', { running: 0, drainTimeoutMs: 1 });
    expect(await counter(m, 'iron_runner_tasks_total')).toEqual({ complete: 1, killed: 1, requeue: 1 });
    expect(await counter(m, 'iron_runner_api_errors_total')).toEqual({ 'reserve,ERR_API_NETWORK': 1, 'finish,ERR_API_UNAVAILABLE': 1, 'heartbeat,ERR_API_NETWORK': 1 });
    expect(await counter(m, 'iron_runner_image_warmups_total')).toEqual({ ok: 1, failed: 1 });
    expect(await counter(m, 'iron_runner_code_downloads_total')).toEqual({ '': 1 });
    expect(await counter(m, 'iron_runner_code_download_bytes_total')).toEqual({ '': 100 });
    expect(await counter(m, 'iron_runner_draining')).toEqual({ '': 1 });
  });
});
