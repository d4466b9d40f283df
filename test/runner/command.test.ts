// A code's command, end to end: the real `iron` CLI stores it exactly as typed, the real iron-api
// keeps the string, and a real runner runs it in a real container with Iron's meaning (`sh -c
// COMMAND`; executed directly when it uses no shell syntax, so images without sh still work).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIron } from '../cli/helpers.js';
import { registerImage, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from './harness.js';

let api: Api;
let runner: RunnerProc;
let dir: string;
const network = uniqueNetwork();

beforeAll(async () => {
  api = await startApi();
  dir = mkdtempSync(path.join(tmpdir(), 'iron-cmd-'));
  const url = new URL(api.url);
  writeFileSync(
    path.join(dir, 'iron.json'),
    JSON.stringify({
      project_id: api.projectId,
      token: api.handle.bootstrap?.projectToken,
      host: url.hostname,
      port: Number(url.port),
      scheme: 'http',
    }),
  );
  runner = spawnRunner(api, { JOB_NETWORK: network });
  await runner.waitForEvent('api.connected');
});

afterAll(async () => {
  await runner?.stop();
  await removeNetwork(network);
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const iron = (args: string[]) => runIron(args, { env: { HOME: dir }, cwd: dir });

async function runCode(name: string): Promise<{ status: string; log: string }> {
  const [id] = await api.client.project.queueTasks([{ code_name: name, payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
  const t = await waitForTask(api, id ?? '');
  return { status: t.status, log: await taskLog(api, id ?? '') };
}

describe('iron register keeps the command as given', () => {
  it("iron register IMG sh -c 'echo a; echo b': the stored command keeps its quoting and the task prints a and b", async () => {
    const reg = await iron(['register', '--name', 'ab', 'iron-test/busybox:1', 'sh', '-c', 'echo a; echo b']);
    expect(reg.stderr).toBe('');
    expect(reg.code).toBe(0);
    const code = (await api.client.project.listCodes(AbortSignal.timeout(5_000))).find((c) => c.name === 'ab');
    expect(code?.command).toBe("sh -c 'echo a; echo b'");
    const q = await iron(['worker', 'queue', '--cluster', api.clusterId, '--wait', 'ab']);
    expect(q.code).toBe(0);
    expect(q.stdout).toContain('a\nb\n');
  }, 90_000);

  it('a single command argument is a command string, stored as given (as ironcli stores it)', async () => {
    const reg = await iron(['register', '--name', 'one-arg', 'iron-test/busybox:1', "sh -c 'echo one; echo two'"]);
    expect(reg.code).toBe(0);
    const code = (await api.client.project.listCodes(AbortSignal.timeout(5_000))).find((c) => c.name === 'one-arg');
    expect(code?.command).toBe("sh -c 'echo one; echo two'");
    expect(await runCode('one-arg')).toEqual({ status: 'complete', log: 'one\ntwo\n' });
  }, 90_000);

  it('through a real shell, arguments with spaces, quotes, $ and an empty one reach the job unchanged', async () => {
    const reg = await runIron([], {
      env: { HOME: dir },
      cwd: dir,
      shell: `"$NODE" "$IRON_BIN" register --name argv iron-test/busybox:1 printf '[%s]\\n' 'two  spaces' "it's" '$HOME' ''`,
    });
    expect(reg.code).toBe(0);
    const r = await runCode('argv');
    expect(r.status).toBe('complete');
    expect(r.log).toBe("[two  spaces]\n[it's]\n[$HOME]\n[]\n");
  }, 90_000);
});

describe('a command as ironcli stores it (arguments joined with spaces) means what it meant on Iron: sh -c', () => {
  it('shell syntax runs through sh: lists, pipes, expansions, assignments', async () => {
    await registerImage(api, 'list', 'echo a; echo b');
    await registerImage(api, 'pipe', 'echo hello | tr a-z A-Z && echo "task=$TASK_ID" | cut -c1-5');
    await registerImage(api, 'assign', 'GREETING=hi env | grep ^GREETING=');
    expect(await runCode('list')).toEqual({ status: 'complete', log: 'a\nb\n' });
    expect(await runCode('pipe')).toEqual({ status: 'complete', log: 'HELLO\ntask=\n' });
    expect(await runCode('assign')).toEqual({ status: 'complete', log: 'GREETING=hi\n' });
  }, 90_000);

  it('plain words run directly, quoting honoured, nothing expanded', async () => {
    await registerImage(api, 'plain', `printf '%s|' "a  b" c\\ d`);
    expect(await runCode('plain')).toEqual({ status: 'complete', log: 'a  b|c d|' });
  }, 90_000);
});

describe('ids that are not ids', () => {
  it('iron worker status not-an-id: 404 from iron-api, exit 4 (not found) like an unknown id', async () => {
    for (const id of ['not-an-id', '0123456789abcdef01234567']) {
      const r = await iron(['worker', 'status', id]);
      expect(r.code, `${id}: ${r.stderr}`).toBe(4);
      expect(r.stderr).toMatch(/not found/i);
    }
  }, 30_000);
});
