// `iron worker queue [flags] CODE_NAME`: queues 1..n tasks, encrypting each payload locally when a
// public key is given; with --wait follows the (first) task and exits by its final status.
import type { TaskSpec } from '../../api/index.js';
import { IronError, isIronError } from '../../errors.js';
import type { Command } from '../command.js';
import { EXIT } from '../command.js';
import { followTask } from '../follow.js';
import { readEncryptionKey, readPayload, taskPayloads } from '../payload.js';
import { printJson, priority, seconds } from '../values.js';

export const queueCommand: Command = {
  path: ['worker', 'queue'],
  summary: 'queue tasks for a code package',
  synopsis: '[flags] CODE_NAME',
  options: [
    { name: 'payload', short: 'p', type: 'string', arg: 'TEXT', help: 'task payload' },
    { name: 'payload-file', type: 'string', arg: 'FILE', help: 'read the payload from a file' },
    { name: 'cluster', type: 'string', arg: 'ID', help: 'cluster to run on' },
    { name: 'priority', type: 'string', arg: '0|1|2', help: "priority (default: the code's default priority)" },
    { name: 'timeout', type: 'string', arg: 'SECONDS', help: 'kill the task after this long (max 3600)' },
    { name: 'delay', type: 'string', arg: 'SECONDS', help: 'queue the task after this long (max 604800)' },
    { name: 'label', type: 'string', arg: 'LABEL', help: 'free-form label' },
    { name: 'n', type: 'string', arg: 'N', help: 'queue N identical tasks (default 1)' },
    { name: 'encryption-key', type: 'string', arg: 'PEM', help: 'encrypt the payload with this public key (PEM text)' },
    { name: 'encryption-key-file', type: 'string', arg: 'FILE', help: 'encrypt the payload with the public key in FILE' },
    { name: 'wait', short: 'w', type: 'boolean', help: "follow the task's status and log; exit non-zero unless it completes" },
    { name: 'json', type: 'boolean', help: 'print the new task ids as JSON' },
  ],
  async run(ctx, o, args) {
    const [codeName, ...extra] = args;
    if (codeName === undefined || codeName === '') throw o.fail('a CODE_NAME is required');
    if (extra.length > 0) throw o.fail(`unexpected argument ${JSON.stringify(extra[0])}`);
    const count = o.int('n', 1, 100) ?? 1;
    const prio = priority(o, 'priority');
    const timeout = seconds(o, 'timeout', 3600);
    const delay = seconds(o, 'delay', 604_800);
    const cluster = o.str('cluster');
    const label = o.str('label');
    // Read and validate everything local before the first request: a bad key must fail fast.
    const plaintext = readPayload(ctx, o);
    const key = readEncryptionKey(ctx, o);
    const api = ctx.api();
    const tasks: TaskSpec[] = taskPayloads(plaintext, key, count).map((payload) => ({
      code_name: codeName,
      payload,
      ...(cluster === undefined ? {} : { cluster }),
      ...(prio === undefined ? {} : { priority: prio }),
      ...(timeout === undefined ? {} : { timeout: Math.ceil(timeout) }),
      ...(delay === undefined ? {} : { delay: Math.round(delay) }),
      ...(label === undefined ? {} : { label }),
    }));
    let ids: string[];
    try {
      ids = await api.project.queueTasks(tasks, ctx.signal);
    } catch (err) {
      // Only a missing code is fixed by registering one; a missing cluster is a wrong --cluster.
      const message = isIronError(err) ? err.message : '';
      const hint = /code not found/i.test(message) ? 'Is it registered? (iron register IMAGE)' : /cluster not found/i.test(message) ? 'Check --cluster against `iron cluster list`' : undefined;
      if (isIronError(err, 'ERR_API_NOT_FOUND') && hint !== undefined) {
        throw new IronError('ERR_API_NOT_FOUND', `cannot queue '${codeName}': ${err.message}. ${hint}`, {
          cause: err,
          details: err.details,
        });
      }
      throw err;
    }
    if (o.flag('json')) printJson((s) => ctx.out.write(s), { tasks: ids.map((id) => ({ id })) });
    else for (const id of ids) ctx.out.write(`Queued task with id='${id}'\n`);
    const first = ids[0];
    if (!o.flag('wait') || first === undefined) return EXIT.OK;
    const task = await followTask(ctx, first, { showStatus: true, printLog: true });
    if (task.status === 'complete') return EXIT.OK;
    ctx.err.write(`iron: task ${first} ended ${task.status}${task.msg ? `: ${task.msg}` : ''}\n`);
    return EXIT.TASK_FAILED;
  },
};
