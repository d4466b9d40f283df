// Drives the shipped images with the docker CLI, the way the README tells people to: iron/api in a
// container, iron/runner containers with --privileged and env vars only. Everything created carries
// the label iron.test=<run id> and is removed by cleanup(), anonymous volumes included.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { listeningUrl } from '../../bench/lib/api-proc.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const DOCKER = '/usr/bin/docker';

export const RUNNER_IMAGE = process.env['IRON_RUNNER_IMAGE'] ?? 'iron/runner:latest';
export const API_IMAGE = process.env['IRON_API_IMAGE'] ?? 'iron/api:latest';
export const JOB_IMAGE = process.env['IRON_TEST_IMAGE'] ?? 'iron-test/busybox:1';
/** haproxy and PostgreSQL of deploy/compose/replicas.yml (same variable names as the compose file). */
export const LB_IMAGE = process.env['IRON_LB_IMAGE'] ?? 'iron/lb:latest';
export const POSTGRES_IMAGE = process.env['IRON_POSTGRES_IMAGE'] ?? 'iron/postgres:latest';

export async function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run(DOCKER, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

export async function dockerRc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(DOCKER, args, { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface ApiInfo {
  container: string;
  url: string;
  projectId: string;
  projectToken: string;
  clusterId: string;
  clusterToken: string;
}

export interface Task {
  id: string;
  status: string;
  payload?: string;
  msg?: string;
  attempt?: number;
  start_time?: string;
}

export class Stack {
  readonly id = `iron-it-${randomBytes(4).toString('hex')}`;
  readonly network = this.id;
  private preload: string | undefined;
  api: ApiInfo | undefined;

  /** Made on first use: a skipped suite still constructs its Stack. */
  get preloadDir(): string {
    this.preload ??= mkdtempSync(path.join(tmpdir(), 'iron-preload-'));
    return this.preload;
  }

  name(suffix: string): string {
    return `${this.id}-${suffix}`;
  }

  /** The job image as a `docker save` archive, mounted read-only into runners (air-gapped preload). */
  async savePreload(): Promise<void> {
    await docker(['save', '-o', path.join(this.preloadDir, 'job-image.tar'), JOB_IMAGE]);
  }

  async startApi(env: Record<string, string> = {}): Promise<ApiInfo> {
    await docker(['network', 'create', '--label', `iron.test=${this.id}`, this.network]);
    const container = this.name('api');
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    await docker(['run', '-d', '--name', container, '--label', `iron.test=${this.id}`, '--network', this.network, '-p', '127.0.0.1::8080', ...envArgs, API_IMAGE]);
    const out = await waitFor(
      'iron-api credentials',
      async () => {
        const r = await dockerRc(['logs', container]);
        const logs = r.stdout + r.stderr;
        return /cluster token:/.test(logs) && logs.split('\n').some((l) => listeningUrl(l) !== undefined) ? logs : undefined;
      },
      { timeoutMs: 30_000, everyMs: 250 },
    );
    const field = (label: string): string => {
      const m = new RegExp(`${label}:\\s+(\\S+)`).exec(out);
      if (m?.[1] === undefined) throw new Error(`iron-api printed no ${label}`);
      return m[1];
    };
    const port = (await docker(['port', container, '8080/tcp'])).trim().split('\n')[0]?.split(':').pop() ?? '';
    this.api = {
      container,
      url: `http://127.0.0.1:${port}`,
      projectId: field('project id'),
      projectToken: field('project token'),
      clusterId: field('cluster id'),
      clusterToken: field('cluster token'),
    };
    return this.api;
  }

  /** Runs the `iron` CLI inside the api container (it reads the iron.json iron-api wrote there). */
  async iron(args: string[]): Promise<string> {
    return docker(['exec', this.requireApi().container, 'iron', ...args]);
  }

  /** The named volume a runner's engine keeps its images in (as the README's commands do). */
  volumeOf(suffix: string): string {
    return `${this.name(suffix)}-docker`;
  }

  /** `docker run --privileged -d -v NAME:/var/lib/docker -e ... iron/runner`, returning the container name and when it was run. */
  async startRunner(suffix: string, env: Record<string, string>): Promise<{ name: string; startedAt: number }> {
    const name = this.name(suffix);
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    await docker(['volume', 'create', '--label', `iron.test=${this.id}`, this.volumeOf(suffix)]);
    const startedAt = Date.now();
    await docker([
      'run',
      '--privileged',
      '-d',
      '--name',
      name,
      '--label',
      `iron.test=${this.id}`,
      '--network',
      this.network,
      '-v',
      `${this.volumeOf(suffix)}:/var/lib/docker`,
      '-v',
      `${this.preloadDir}:/var/lib/iron-runner/preload:ro`,
      '-e',
      `API_URL=http://${this.requireApi().container}:8080`,
      ...envArgs,
      RUNNER_IMAGE,
    ]);
    return { name, startedAt };
  }

  async waitReady(runner: string): Promise<void> {
    await waitFor(
      `${runner} polling`,
      async () => {
        const r = await dockerRc(['logs', runner]);
        if (/"msg":"(fatal|invalid configuration)/.test(r.stderr)) throw new Error(`${runner} failed:\n${r.stderr.slice(-2000)}`);
        return r.stderr.includes('polling for tasks') ? true : undefined;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
  }

  async task(id: string): Promise<Task> {
    return (await this.get(`/2/projects/${this.requireApi().projectId}/tasks/${id}`)) as Task;
  }

  async taskLog(id: string): Promise<string> {
    const api = this.requireApi();
    const res = await fetch(`${api.url}/2/projects/${api.projectId}/tasks/${id}/log`, {
      headers: { Authorization: `OAuth ${api.projectToken}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`log of ${id}: HTTP ${res.status}`);
    return res.text();
  }

  async waitDone(id: string, timeoutMs: number): Promise<Task> {
    return waitFor(
      `task ${id} to end`,
      async () => {
        const t = await this.task(id);
        return ['queued', 'preparing', 'running'].includes(t.status) ? undefined : t;
      },
      { timeoutMs, everyMs: 300 },
    );
  }

  /** Which runners have a job container running inside their own engine right now. */
  async runnersWithJobs(runners: string[]): Promise<string[]> {
    const busy: string[] = [];
    for (const r of runners) {
      const out = await dockerRc(['exec', r, 'docker', 'ps', '-q']);
      if (out.code === 0 && out.stdout.trim() !== '') busy.push(r);
    }
    return busy;
  }

  async cleanup(): Promise<void> {
    const ids = (await dockerRc(['ps', '-aq', '--filter', `label=iron.test=${this.id}`])).stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await dockerRc(['rm', '-fv', ...ids]);
    const nets = (await dockerRc(['network', 'ls', '-q', '--filter', `label=iron.test=${this.id}`])).stdout.split('\n').filter(Boolean);
    if (nets.length > 0) await dockerRc(['network', 'rm', ...nets]);
    const vols = (await dockerRc(['volume', 'ls', '-q', '--filter', `label=iron.test=${this.id}`])).stdout.split('\n').filter(Boolean);
    if (vols.length > 0) await dockerRc(['volume', 'rm', '-f', ...vols]);
    if (this.preload !== undefined) rmSync(this.preload, { recursive: true, force: true });
  }

  private async get(p: string): Promise<unknown> {
    const api = this.requireApi();
    const res = await fetch(`${api.url}${p}`, { headers: { Authorization: `OAuth ${api.projectToken}` }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`GET ${p}: HTTP ${res.status}`);
    return res.json();
  }

  private requireApi(): ApiInfo {
    if (this.api === undefined) throw new Error('startApi() first');
    return this.api;
  }
}
