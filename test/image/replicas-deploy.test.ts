// The scaled-out deployment files, offline: the Kubernetes overlay deploy/kubernetes-replicated (the
// base with its single SQLite iron-api swapped for a replicated Deployment on PostgreSQL plus a
// PodDisruptionBudget) and deploy/compose/replicas.yml with its haproxy configuration.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Secret } from 'kubernetes-models/v1';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { arr, containersOf, deploymentFieldProblems, envOf, KNOWN_KINDS, loadYaml, obj, str, type Doc } from './manifests.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OVERLAY = path.join(ROOT, 'deploy/kubernetes-replicated');
const BASE = path.join(ROOT, 'deploy/kubernetes');

const key = (d: Doc): string => `${String(d['kind'])}/${String(obj(d['metadata'], 'metadata')['name'])}`;
const labelsOf = (d: Doc): Doc => obj(obj(obj(obj(d['spec'], 'spec')['template'], 'template')['metadata'], 'metadata')['labels'], 'labels');
const matches = (selector: Doc, labels: Doc): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** What `kubectl kustomize` makes of the overlay: the base's resources, its own, minus the delete patches. */
function rendered(): Doc[] {
  const [k] = loadYaml(path.join(OVERLAY, 'kustomization.yaml'));
  const docs: Doc[] = [];
  for (const r of arr(k?.['resources'], 'resources').map(String)) {
    const p = path.join(OVERLAY, r);
    if (r.endsWith('.yaml')) docs.push(...loadYaml(p));
    else for (const br of arr(loadYaml(path.join(p, 'kustomization.yaml'))[0]?.['resources'], 'base resources')) docs.push(...loadYaml(path.join(p, String(br))));
  }
  const deleted = arr(k?.['patches'], 'patches').map((pt) => loadYaml(path.join(OVERLAY, String(obj(pt, 'patch')['path'])))[0] as Doc);
  for (const d of deleted) {
    expect(d['$patch']).toBe('delete');
    const i = docs.findIndex((x) => key(x) === key(d));
    expect(i, `patch deletes ${key(d)}, which the base has`).toBeGreaterThanOrEqual(0);
    docs.splice(i, 1);
  }
  return docs;
}

describe('kubernetes overlay deploy/kubernetes-replicated', () => {
  const docs = rendered();
  const deployment = docs.find((d) => key(d) === 'Deployment/iron-api-replicas')!;
  const pdb = docs.find((d) => d['kind'] === 'PodDisruptionBudget')!;
  const [secret] = loadYaml(path.join(OVERLAY, 'database-secret.yaml'));

  it('validates against the Kubernetes schemas, with known kinds and fields only', () => {
    for (const [Model, doc] of [
      [Deployment, deployment],
      [PodDisruptionBudget, pdb],
      [Secret, secret],
    ] as const) {
      expect(() => new Model(structuredClone(doc) as never).validate()).not.toThrow();
      expect(doc?.['apiVersion']).toBe(KNOWN_KINDS[String(doc?.['kind'])]);
      expect(obj(doc?.['metadata'], 'metadata')['namespace']).toBe('iron');
    }
    expect(deploymentFieldProblems(deployment, 'iron-api-replicas')).toEqual([]);
    // The schema does reject a broken budget.
    const bad = structuredClone(pdb);
    obj(bad['spec'], 'spec')['minAvailable'] = { at: 'least two' };
    expect(() => new PodDisruptionBudget(bad as never).validate()).toThrow();
  });

  it('replaces the single SQLite iron-api: no claim, one API Deployment behind the Service', () => {
    expect(docs.some((d) => d['kind'] === 'PersistentVolumeClaim')).toBe(false);
    const service = docs.find((d) => key(d) === 'Service/iron-api')!;
    const selector = obj(obj(service['spec'], 'spec')['selector'], 'selector');
    const behind = docs.filter((d) => d['kind'] === 'Deployment' && matches(selector, labelsOf(d)));
    expect(behind.map(key)).toEqual(['Deployment/iron-api-replicas']);
    const volumes = arr(obj(obj(obj(deployment['spec'], 's')['template'], 't')['spec'], 'p')['volumes'], 'volumes').map((v) => obj(v, 'v'));
    expect(volumes.filter((v) => v['persistentVolumeClaim'] !== undefined)).toEqual([]);
  });

  it('runs 2+ replicas on the database Secret, rolls one at a time, probes readiness, keeps a budget', () => {
    const spec = obj(deployment['spec'], 'spec');
    expect(Number(spec['replicas'])).toBeGreaterThanOrEqual(2);
    expect(obj(spec['strategy'], 'strategy')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const [c] = containersOf(deployment);
    const ref = obj(obj(envOf(c!).get('DATABASE_URL')?.['valueFrom'], 'valueFrom')['secretKeyRef'], 'secretKeyRef');
    expect(ref).toEqual({ name: obj(secret?.['metadata'], 'm')['name'], key: 'url' });
    expect(Object.keys(obj(secret?.['stringData'], 'stringData'))).toEqual(['url']);
    const ready = obj(obj(c!['readinessProbe'], 'readinessProbe')['httpGet'], 'httpGet');
    expect(ready).toEqual({ path: '/healthz', port: 'http' });
    expect(arr(c!['ports'], 'ports').map((p) => obj(p, 'p')['name'])).toContain('http');
    const budget = obj(pdb['spec'], 'spec');
    expect(matches(obj(obj(budget['selector'], 'sel')['matchLabels'], 'ml'), labelsOf(deployment))).toBe(true);
    // A budget as large as the replica count would block every node drain.
    expect(Number(budget['minAvailable'])).toBeLessThan(Number(spec['replicas']));
    expect(Number(budget['minAvailable'])).toBeGreaterThanOrEqual(1);
    expect(existsSync(path.join(BASE, 'runner-secret.yaml'))).toBe(true);
  });
});

describe('compose deploy/compose/replicas.yml', () => {
  const [compose] = loadYaml(path.join(ROOT, 'deploy/compose/replicas.yml'));
  const services = obj(compose?.['services'], 'services');
  const haproxy = readFileSync(path.join(ROOT, 'docker/haproxy.cfg'), 'utf8');
  const apis = Object.keys(services).filter((s) => /^api-\d+$/.test(s));

  it('has PostgreSQL, two API replicas on it, haproxy, the bootstrap, runners and the demo', () => {
    expect(Object.keys(services).sort()).toEqual(['api-1', 'api-2', 'bootstrap', 'demo', 'lb', 'postgres', 'runner']);
    for (const a of apis) {
      const s = obj(services[a], a);
      expect(new URL(str(obj(s['environment'], 'env')['DATABASE_URL'], 'DATABASE_URL')).host).toBe('postgres:5432');
      expect(obj(obj(s['depends_on'], 'depends_on')['postgres'], 'pg')['condition']).toBe('service_healthy');
      expect(JSON.stringify(obj(s['healthcheck'], 'healthcheck')['test'])).toContain('/healthz');
      expect(obj(obj(services['lb'], 'lb')['depends_on'], 'lb deps')[a]).toEqual({ condition: 'service_healthy' });
    }
    expect(obj(services['postgres'], 'postgres')['healthcheck']).toBeDefined();
    for (const target of ['lb', 'postgres']) expect(obj(obj(services[target], target)['build'], 'build')['target']).toBe(target);
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/ AS lb\n/);
    expect(dockerfile).toMatch(/ AS postgres\n/);
    expect(existsSync(path.join(ROOT, 'docker/postgres-entrypoint.sh'))).toBe(true);
  });

  it('balances over exactly the API replicas with health checks on /healthz, retrying only what is safe', () => {
    const servers = [...haproxy.matchAll(/^\s*server (\S+) (\S+):(\d+)/gm)].map((m) => [m[1], m[2], m[3]]);
    expect(servers).toEqual(apis.map((a) => [a, a, '8080']));
    expect(haproxy).toMatch(/option httpchk GET \/healthz/);
    const retryOn = /^\s*retry-on (.+)$/m.exec(haproxy)?.[1]?.split(/\s+/) ?? [];
    expect(retryOn.length).toBeGreaterThan(0);
    // A broken or missing answer may come after the replica acted (a queued task): never retried.
    for (const unsafe of ['empty-response', 'response-timeout', 'junk-response', 'all-retryable-errors', '502', '504']) expect(retryOn).not.toContain(unsafe);
    // The long-poll (30 s) must fit the server timeout.
    expect(Number(/timeout server (\d+)s/.exec(haproxy)?.[1])).toBeGreaterThan(30);
  });

  it('points the runners at every replica, in a list the runner accepts', () => {
    const env = obj(obj(services['runner'], 'runner')['environment'], 'env');
    const cfg = loadRunnerConfig({ CLUSTER_ID: 'c1', CLUSTER_TOKEN: 't', JOBS_DIR: '/tmp/x', IRON_NETWORK_MODE: 'container', API_URL: str(env['API_URL'], 'API_URL') }, { usableMemory: 1 << 30 });
    expect(cfg.apiUrls.map((u) => u.hostname)).toEqual(apis);
  });
});
