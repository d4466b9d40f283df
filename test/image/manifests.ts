// Offline checks for the deploy manifests besides the schemas (deploy-files.test.ts validates those
// with kubernetes-models): the field names each object kind may have (the schemas allow unknown
// ones), and the references between objects.
import { execFileSync } from 'node:child_process';

export type Doc = Record<string, unknown>;

/** YAML (several documents) -> plain objects, through Debian's python3-yaml. */
export function loadYaml(file: string): Doc[] {
  const out = execFileSync('python3', ['-c', 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], sys.stdout)', file], { encoding: 'utf8' });
  return JSON.parse(out) as Doc[];
}

export function obj(v: unknown, where: string): Doc {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected an object`);
  return v as Doc;
}

/** A scalar as text (YAML may give numbers where strings are meant). */
export function str(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`${where}: expected a scalar`);
}

export function arr(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${where}: expected a list`);
  return v;
}

// Field names from the Kubernetes API reference (core/v1, apps/v1); enough to catch misspellings.
const CONTAINER_KEYS = [
  'name',
  'image',
  'imagePullPolicy',
  'command',
  'args',
  'workingDir',
  'ports',
  'env',
  'envFrom',
  'resources',
  'volumeMounts',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'securityContext',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'stdin',
  'tty',
  'volumeDevices',
  'restartPolicy',
  'resizePolicy',
  'stdinOnce',
];
const POD_SPEC_KEYS = [
  'containers',
  'initContainers',
  'volumes',
  'securityContext',
  'terminationGracePeriodSeconds',
  'serviceAccountName',
  'nodeSelector',
  'affinity',
  'tolerations',
  'priorityClassName',
  'restartPolicy',
  'dnsPolicy',
  'hostNetwork',
  'imagePullSecrets',
  'topologySpreadConstraints',
  'automountServiceAccountToken',
  'enableServiceLinks',
  'runtimeClassName',
];
const DEPLOYMENT_SPEC_KEYS = ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'progressDeadlineSeconds', 'paused'];
const PROBE_KEYS = ['httpGet', 'tcpSocket', 'exec', 'grpc', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'];
const CONTAINER_SECURITY_KEYS = [
  'privileged',
  'allowPrivilegeEscalation',
  'readOnlyRootFilesystem',
  'capabilities',
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'seccompProfile',
  'seLinuxOptions',
  'procMount',
  'appArmorProfile',
];

export const KNOWN_KINDS: Record<string, string> = {
  Namespace: 'v1',
  Secret: 'v1',
  Service: 'v1',
  PersistentVolumeClaim: 'v1',
  Deployment: 'apps/v1',
  PodDisruptionBudget: 'policy/v1',
  ScaledObject: 'keda.sh/v1alpha1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  Kustomization: 'kustomize.config.k8s.io/v1beta1',
};

function onlyKeys(o: Doc, allowed: string[], where: string, problems: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${where}: unknown field ${k}`);
}

/** Field-name problems of one Deployment (pod spec, containers, probes, security contexts). */
export function deploymentFieldProblems(d: Doc, name: string): string[] {
  const problems: string[] = [];
  const spec = obj(d['spec'], `${name}.spec`);
  onlyKeys(spec, DEPLOYMENT_SPEC_KEYS, `${name}.spec`, problems);
  const pod = obj(obj(spec['template'], `${name}.template`)['spec'], `${name}.template.spec`);
  onlyKeys(pod, POD_SPEC_KEYS, `${name}.template.spec`, problems);
  for (const c of arr(pod['containers'], `${name}.containers`)) {
    const container = obj(c, `${name}.containers[]`);
    const where = `${name}/${String(container['name'])}`;
    onlyKeys(container, CONTAINER_KEYS, where, problems);
    for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      if (container[p] !== undefined) onlyKeys(obj(container[p], `${where}.${p}`), PROBE_KEYS, `${where}.${p}`, problems);
    }
    if (container['securityContext'] !== undefined) onlyKeys(obj(container['securityContext'], where), CONTAINER_SECURITY_KEYS, `${where}.securityContext`, problems);
  }
  return problems;
}

export function containersOf(d: Doc): Doc[] {
  const pod = obj(obj(obj(d['spec'], 'spec')['template'], 'template')['spec'], 'pod');
  return arr(pod['containers'], 'containers').map((c) => obj(c, 'container'));
}

export function envOf(container: Doc): Map<string, Doc> {
  const env = new Map<string, Doc>();
  for (const e of arr(container['env'] ?? [], 'env')) {
    const entry = obj(e, 'env[]');
    env.set(String(entry['name']), entry);
  }
  return env;
}
