// docker-compose.yml's flow, run for real. No compose binary is installed here, so the test turns each
// service of the file into the `docker run` compose would do (same image, user, entrypoint,
// environment, volumes, privileges, network alias) and starts them in dependency order.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadYaml, obj, str, type Doc } from './manifests.js';
import { docker, dockerRc, JOB_IMAGE, Stack, waitFor } from './stack.js';

const skip = process.env['IRON_SKIP_IMAGE_TESTS'] === '1';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_]+):-([^}]*)\}/g, (_m, name: string, def: string) => vars[name] ?? def);
}

describe.skipIf(skip)('docker-compose.yml flow', () => {
  const stack = new Stack();
  const project = `iron-co-${randomBytes(3).toString('hex')}`;
  const volumes: string[] = [];

  afterAll(async () => {
    await stack.cleanup();
    if (volumes.length > 0) await dockerRc(['volume', 'rm', '-f', ...volumes]);
  }, 120_000);

  function runArgs(name: string, svc: Doc, vars: Record<string, string>, detach: boolean): string[] {
    const args = ['run', ...(detach ? ['-d'] : ['--rm']), '--name', `${project}-${name}`, '--label', `iron.test=${stack.id}`,
      '--network', stack.network, '--network-alias', name];
    if (svc['privileged'] === true) args.push('--privileged');
    if (svc['user'] !== undefined) args.push('--user', str(svc['user'], `${name}.user`));
    for (const [k, v] of Object.entries(obj(svc['environment'] ?? {}, `${name}.environment`))) args.push('-e', `${k}=${interpolate(String(v), vars)}`);
    for (const v of (svc['volumes'] ?? []) as string[]) {
      const [src = '', dst = '', mode] = interpolate(v, vars).split(':');
      const source = src.startsWith('.') || src.startsWith('/') ? path.resolve(ROOT, src) : `${project}-${src}`;
      args.push('-v', [source, dst, ...(mode === undefined ? [] : [mode])].join(':'));
    }
    const entry = svc['entrypoint'] as string[] | undefined;
    if (entry !== undefined) args.push('--entrypoint', entry[0]!);
    args.push(String(svc['image']));
    if (entry !== undefined) args.push(...entry.slice(1));
    return args;
  }

  it('bootstraps a cluster, starts two runners and the demo task completes with its log', async () => {
    const [compose] = loadYaml(path.join(ROOT, 'docker-compose.yml'));
    const services = obj(compose?.['services'], 'services');
    const svc = (n: string): Doc => obj(services[n], n);
    await stack.savePreload();
    const vars = { DEMO_IMAGE: JOB_IMAGE, IRON_PRELOAD_DIR: stack.preloadDir };
    for (const v of Object.keys(obj(compose?.['volumes'], 'volumes'))) {
      volumes.push(`${project}-${v}`);
      await docker(['volume', 'create', '--label', `iron.test=${stack.id}`, `${project}-${v}`]);
    }
    await docker(['network', 'create', '--label', `iron.test=${stack.id}`, stack.network]);

    await docker(runArgs('api', svc('api'), vars, true));
    const health = (obj(svc('api')['healthcheck'], 'healthcheck')['test'] as string[]).slice(1);
    await waitFor('api healthy', async () => ((await dockerRc(['exec', `${project}-api`, ...health])).code === 0 ? true : undefined), 60_000, 500);

    const boot = await dockerRc(runArgs('bootstrap', svc('bootstrap'), vars, false));
    expect(boot.code, boot.stderr).toBe(0);
    expect(boot.stdout).toMatch(/created cluster compose: \w+/);
    expect(boot.stdout + boot.stderr).not.toMatch(/CLUSTER_TOKEN|token/i);

    for (const r of ['runner1', 'runner2']) await docker(runArgs(r, svc(r), vars, true));
    await Promise.all(['runner1', 'runner2'].map((r) => stack.waitReady(`${project}-${r}`)));

    const demo = await dockerRc(runArgs('demo', svc('demo'), vars, false));
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    expect(demo.stdout).toContain('hello from iron-runner on');
    expect(demo.stdout).toContain('payload: hello world');

    // A second `compose up` keeps the credentials the runners already use.
    const again = await dockerRc(runArgs('bootstrap', svc('bootstrap'), vars, false));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already');
  }, 180_000);
});
