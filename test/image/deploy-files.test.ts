// Checks of the shipped deployment files that need no cluster and no image: Kubernetes manifests
// (fields and cross references), docker-compose.yml, systemd units, and shell syntax of every script.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../src/config/units.js';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { arr, containersOf, str, deploymentFieldProblems, envOf, KNOWN_KINDS, loadYaml, obj, type Doc } from './manifests.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const K8S = path.join(ROOT, 'deploy/kubernetes');

function k8sDocs(): Array<{ file: string; doc: Doc }> {
  return readdirSync(K8S)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) => loadYaml(path.join(K8S, file)).map((doc) => ({ file, doc })));
}

function byKind(docs: Array<{ doc: Doc }>, kind: string): Doc[] {
  return docs.map((d) => d.doc).filter((d) => d['kind'] === kind);
}

const nameOf = (d: Doc): string => String(obj(d['metadata'], 'metadata')['name']);

// The published schemas (kubernetes-models: the Kubernetes OpenAPI definitions; @kubernetes-models/keda:
// KEDA's CRDs), through each model's validate(). Kustomization has no API schema: its resources are
// checked below. The schemas allow unknown fields, so the field-name check below stays.
const SCHEMAS: Record<string, new (doc: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

function schemaProblem(doc: Doc): string | undefined {
  const Model = SCHEMAS[`${String(doc['apiVersion'])}/${String(doc['kind'])}`];
  if (Model === undefined) return `no schema for ${String(doc['apiVersion'])} ${String(doc['kind'])}`;
  try {
    new Model(structuredClone(doc) as never).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('kubernetes manifests', () => {
  const docs = k8sDocs();

  it('validate against the Kubernetes and KEDA schemas', () => {
    const checked = docs.filter(({ doc }) => doc['kind'] !== 'Kustomization');
    expect(checked.map(({ file, doc }) => [file, String(doc['kind']), schemaProblem(doc)]).filter(([, , p]) => p !== undefined)).toEqual([]);
    expect(new Set(checked.map(({ doc }) => doc['kind']))).toEqual(new Set(['Namespace', 'Secret', 'Service', 'PersistentVolumeClaim', 'Deployment', 'ScaledObject']));
    // The validator does reject a wrong manifest: a port as text, a trigger without its type.
    const runner = structuredClone(byKind(docs, 'Deployment').find((d) => nameOf(d) === 'iron-runner')!);
    (containersOf(runner)[0]!['ports'] as Doc[])[0]!['containerPort'] = 'metrics';
    expect(schemaProblem(runner)).toMatch(/containerPort must be integer/);
    const scaler = structuredClone(byKind(docs, 'ScaledObject')[0]!);
    delete (arr(obj(scaler['spec'], 'spec')['triggers'], 'triggers')[0] as Doc)['type'];
    expect(schemaProblem(scaler)).toMatch(/must have required property 'type'|required property type/);
  });

  it('use known kinds with their API versions, names and the iron namespace', () => {
    expect(docs.length).toBeGreaterThanOrEqual(7);
    for (const { file, doc } of docs) {
      const kind = String(doc['kind']);
      expect(KNOWN_KINDS[kind], `${file}: kind ${kind}`).toBeDefined();
      expect(doc['apiVersion'], `${file}: ${kind}`).toBe(KNOWN_KINDS[kind]);
      if (kind === 'Kustomization') continue;
      expect(nameOf(doc)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      if (kind !== 'Namespace') expect(obj(doc['metadata'], file)['namespace'], `${file}: ${kind}`).toBe('iron');
    }
  });

  it('have only known fields in deployments, pods, containers and probes', () => {
    for (const d of byKind(docs, 'Deployment')) expect(deploymentFieldProblems(d, nameOf(d))).toEqual([]);
  });

  it('wire selectors, ports, volumes, secrets and the scaler to objects that exist', () => {
    const secrets = new Map(byKind(docs, 'Secret').map((s) => [nameOf(s), Object.keys(obj(s['stringData'] ?? s['data'], 'secret data'))]));
    const claims = byKind(docs, 'PersistentVolumeClaim').map(nameOf);
    const deployments = byKind(docs, 'Deployment');
    for (const d of deployments) {
      const spec = obj(d['spec'], 'spec');
      const template = obj(spec['template'], 'template');
      const labels = obj(obj(template['metadata'], 'template.metadata')['labels'], 'labels');
      expect(labels).toMatchObject(obj(obj(spec['selector'], 'selector')['matchLabels'], 'matchLabels'));
      const pod = obj(template['spec'], 'pod');
      const volumes = arr(pod['volumes'] ?? [], 'volumes').map((v) => obj(v, 'volume'));
      for (const v of volumes) {
        const claim = v['persistentVolumeClaim'];
        if (claim !== undefined) expect(claims).toContain(obj(claim, 'pvc')['claimName']);
      }
      for (const c of containersOf(d)) {
        const ports = arr(c['ports'] ?? [], 'ports').map((p) => obj(p, 'port')['name']);
        for (const probe of ['readinessProbe', 'livenessProbe']) {
          if (c[probe] !== undefined) expect(ports).toContain(obj(obj(c[probe], probe)['httpGet'], 'httpGet')['port']);
        }
        for (const m of arr(c['volumeMounts'] ?? [], 'mounts')) expect(volumes.map((v) => v['name'])).toContain(obj(m, 'mount')['name']);
        for (const e of envOf(c).values()) {
          const ref = e['valueFrom'] === undefined ? undefined : obj(e['valueFrom'], 'valueFrom')['secretKeyRef'];
          if (ref === undefined) continue;
          const r = obj(ref, 'secretKeyRef');
          expect(secrets.has(String(r['name'])), `secret ${String(r['name'])}`).toBe(true);
          if (r['optional'] !== true) expect(secrets.get(String(r['name']))).toContain(r['key']);
        }
      }
    }
    for (const svc of byKind(docs, 'Service')) {
      const selector = obj(obj(svc['spec'], 'spec')['selector'], 'selector');
      const target = deployments.find((d) => Object.entries(selector).every(([k, v]) => obj(obj(obj(obj(d['spec'], 's')['template'], 't')['metadata'], 'm')['labels'], 'l')[k] === v));
      expect(target, `service ${nameOf(svc)} selects a deployment`).toBeDefined();
      const portNames = containersOf(target!).flatMap((c) => arr(c['ports'] ?? [], 'ports').map((p) => obj(p, 'p')['name']));
      for (const p of arr(obj(svc['spec'], 'spec')['ports'], 'ports')) expect(portNames).toContain(obj(p, 'port')['targetPort']);
    }
    for (const so of byKind(docs, 'ScaledObject')) {
      const target = obj(obj(so['spec'], 'spec')['scaleTargetRef'], 'scaleTargetRef');
      expect(deployments.map(nameOf)).toContain(target['name']);
      const query = String(obj(obj(arr(obj(so['spec'], 'spec')['triggers'], 'triggers')[0], 'trigger')['metadata'], 'meta')['query']);
      expect(query).toContain('iron_queue_depth');
    }
    const kustomization = byKind(docs, 'Kustomization')[0];
    for (const r of arr(kustomization?.['resources'], 'resources')) expect(existsSync(path.join(K8S, String(r)))).toBe(true);
  });

  it('runs the runner privileged with a grace period covering the drain', () => {
    const runner = byKind(docs, 'Deployment').find((d) => nameOf(d) === 'iron-runner');
    expect(runner).toBeDefined();
    const [c] = containersOf(runner!);
    expect(obj(c!['securityContext'], 'sc')['privileged']).toBe(true);
    const env = envOf(c!);
    const drain = parseDurationMs(str(env.get('DRAIN_TIMEOUT')?.['value'] ?? '300s', 'DRAIN_TIMEOUT'));
    const grace = parseDurationMs(str(env.get('STOP_GRACE')?.['value'] ?? '10s', 'STOP_GRACE'));
    const period = Number(obj(obj(obj(runner!['spec'], 's')['template'], 't')['spec'], 'p')['terminationGracePeriodSeconds']);
    expect(period * 1000).toBeGreaterThanOrEqual((drain ?? Infinity) + (grace ?? Infinity) + 30_000);
    expect(c!['volumeMounts']).toEqual(expect.arrayContaining([expect.objectContaining({ mountPath: '/var/lib/docker' })]));
  });
});

describe('docker-compose.yml', () => {
  const [compose] = loadYaml(path.join(ROOT, 'docker-compose.yml'));
  const services = obj(compose?.['services'], 'services');

  it('has the api, a bootstrap one-shot, one scalable privileged runner service and the demo one-shot', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'bootstrap', 'demo', 'runner']);
    for (const r of ['runner']) {
      const s = obj(services[r], r);
      expect(s['privileged']).toBe(true);
      const env = obj(s['environment'], `${r}.environment`);
      expect(parseDurationMs(String(s['stop_grace_period']))).toBeGreaterThan(parseDurationMs(String(env['DRAIN_TIMEOUT'])) ?? Infinity);
      expect(obj(obj(s['depends_on'], 'depends_on')['bootstrap'], 'bootstrap')['condition']).toBe('service_completed_successfully');
      // Scalable: no fixed container name, no volume one engine would share with another replica.
      expect(s['container_name']).toBeUndefined();
      expect((s['volumes'] as string[]).some((v) => v.includes(':/var/lib/docker'))).toBe(false);
    }
    for (const [name, raw] of Object.entries(services)) {
      const s = obj(raw, name);
      for (const dep of Object.values(obj(s['depends_on'] ?? {}, 'depends_on'))) {
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(obj(dep, 'dep')['condition']);
      }
      const entry = s['entrypoint'];
      if (Array.isArray(entry)) expect(existsSync(path.join(ROOT, 'docker/bin', String(entry[0]))), `${name}: ${String(entry[0])}`).toBe(true);
    }
    expect(obj(services['api'], 'api')['healthcheck']).toBeDefined();
  });
});

describe('stop budgets and exposure', () => {
  const read = (f: string): string => readFileSync(path.join(ROOT, f), 'utf8');

  it('give the runner DRAIN_TIMEOUT + STOP_GRACE + 30 s (340 s) everywhere a docker stop timeout is set', () => {
    const files = ['README.md', 'deploy/README.md', 'deploy/systemd/iron-runner@.service', 'deploy/cloud-init/user-data.sh'];
    const budgets = files.flatMap((f) => [...read(f).matchAll(/(?:--stop-timeout|docker stop -t) (\d+)/g)].map((m) => [f, Number(m[1])] as const));
    expect(budgets.length).toBeGreaterThanOrEqual(5);
    expect(budgets.filter(([, n]) => n !== 340)).toEqual([]);
    expect(read('deploy/systemd/iron-runner@.service')).toMatch(/TimeoutStopSec=(\d+)/);
    expect(Number(/TimeoutStopSec=(\d+)/.exec(read('deploy/systemd/iron-runner@.service'))?.[1])).toBeGreaterThan(340);
  });

  it('publishes plain-HTTP iron-api on loopback only, and documents named volumes in every docker run', () => {
    expect(read('deploy/systemd/iron-api.service')).toContain('PUBLISH=127.0.0.1:8080:8080');
    for (const f of ['README.md', 'deploy/README.md']) {
      for (const cmd of read(f)
        .split('\n')
        .filter((l) => /^docker run .*iron\/(api|runner)|^docker run --privileged/.test(l))) {
        const block = read(f).slice(read(f).indexOf(cmd)).split('\n').slice(0, 4).join(' ');
        expect(block, `${f}: ${cmd}`).toMatch(/-v iron-(api-data|runner-\d+):\/var\/lib\/(iron-api|docker)/);
      }
      expect(read(f)).not.toMatch(/-p 8080:8080/);
    }
  });
});

describe('systemd units and scripts', () => {
  it('systemd-analyze verify accepts the units without a warning', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'iron-units-'));
    try {
      copyFileSync(path.join(ROOT, 'deploy/systemd/iron-runner@.service'), path.join(dir, 'iron-runner@1.service'));
      copyFileSync(path.join(ROOT, 'deploy/systemd/iron-api.service'), path.join(dir, 'iron-api.service'));
      const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'iron-runner@1.service'), path.join(dir, 'iron-api.service')], { encoding: 'utf8' });
      expect(r.error).toBeUndefined();
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every shell script parses', () => {
    const bash = ['docker/runner-entrypoint.sh', ...readdirSync(path.join(ROOT, 'docker/lib')).map((f) => `docker/lib/${f}`), 'deploy/cloud-init/user-data.sh', 'scripts/images'];
    for (const f of bash) execFileSync('bash', ['-n', path.join(ROOT, f)]);
    for (const f of readdirSync(path.join(ROOT, 'docker/bin'))) {
      const file = path.join(ROOT, 'docker/bin', f);
      execFileSync('sh', ['-n', file]);
    }
    expect(bash.length).toBeGreaterThan(6);
  });
});
