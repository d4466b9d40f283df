// Clusters: size, runners online, queue depth, each cluster's runners (GET /2/clusters/{id}/stats),
// and "Create cluster", which shows the new id and token once with ready-to-paste runner setups.
import { useState } from 'preact/hooks';
import userDataScript from '../../../deploy/cloud-init/user-data.sh?raw';
import type { Api } from '../api.js';
import { useActions } from '../actions.js';
import { dockerRunCommand, fillUserData, type RunnerSettings } from '../deploy-snippets.js';
import { fmtBytes, fmtTime } from '../format.js';
import { ErrorAlert, Field } from '../fields.js';
import { usePoll } from '../poll.js';

const LIVE_MS = 5000;

interface ClusterJson {
  id: string;
  name: string;
  memory: number;
  disk_space: number;
  default?: boolean;
  user_id: string;
}

/** Contract 2's instance of a cluster's stats. */
interface InstanceJson {
  instance_id: string;
  hostname?: string;
  version?: string;
  runners_available?: number;
  runners_total?: number;
  state?: string;
  last_seen_at?: string;
  updated_at?: string;
}

interface StatsJson {
  queued?: number;
  runners_available?: number;
  runners_total?: number;
  instances?: InstanceJson[];
}

interface Row {
  cluster: ClusterJson;
  stats: StatsJson | undefined;
}

export function ClustersPage({ api }: { api: Api }) {
  const list = usePoll(
    async (signal): Promise<Row[]> => {
      const { clusters } = await api.get<{ clusters: ClusterJson[] }>('/2/clusters?per_page=100', signal);
      return Promise.all(
        clusters.map(async (cluster) => ({
          cluster,
          // A shared cluster's stats may be refused (403): the row shows what the list has.
          stats: await api
            .get<{ cluster: StatsJson }>(`/2/clusters/${encodeURIComponent(cluster.id)}/stats`, signal)
            .then((j) => j.cluster)
            .catch(() => undefined),
        })),
      );
    },
    'clusters',
    LIVE_MS,
  );
  const rows = list.data ?? [];
  return (
    <section>
      <h1>Clusters</h1>
      <ErrorAlert error={list.error} />
      <div class="scroll">
        <table aria-label="Clusters">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Memory</th>
              <th scope="col">Disk</th>
              <th scope="col">Runners online</th>
              <th scope="col">Slots free</th>
              <th scope="col">Queue depth</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ cluster: c, stats }) => {
              const instances = stats?.instances ?? [];
              const online = instances.filter((i) => i.state !== 'lost').length;
              return (
                <tr key={c.id}>
                  <td>
                    {c.name}
                    {c.default === true ? ' (default)' : ''}
                  </td>
                  <td class="mono">{c.id}</td>
                  <td>{fmtBytes(c.memory)}</td>
                  <td>{fmtBytes(c.disk_space)}</td>
                  <td>{stats === undefined ? '' : `${online} of ${instances.length}`}</td>
                  <td>{stats === undefined ? '' : `${stats.runners_available ?? 0} of ${stats.runners_total ?? 0}`}</td>
                  <td>{stats?.queued ?? ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <CreateCluster api={api} onCreated={list.refresh} />
      {rows.map(({ cluster, stats }) => (
        <Runners key={cluster.id} name={cluster.name} instances={stats?.instances ?? []} />
      ))}
    </section>
  );
}

function Runners({ name, instances }: { name: string; instances: readonly InstanceJson[] }) {
  return (
    <section class="card">
      <h2>Runners of {name}</h2>
      <div class="scroll">
        <table aria-label={`Runners ${name}`}>
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">Instance</th>
              <th scope="col">Version</th>
              <th scope="col">Slots busy/total</th>
              <th scope="col">State</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {instances.map((i) => {
              const total = i.runners_total ?? 0;
              return (
                <tr key={i.instance_id}>
                  <td>{i.hostname ?? ''}</td>
                  <td class="mono">{i.instance_id}</td>
                  <td>{i.version ?? ''}</td>
                  <td>{`${total - (i.runners_available ?? 0)}/${total}`}</td>
                  <td>{i.state ?? ''}</td>
                  <td>{fmtTime(i.last_seen_at ?? i.updated_at)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {instances.length === 0 && <p class="muted">No runner has reported yet.</p>}
    </section>
  );
}

function CreateCluster({ api, onCreated }: { api: Api; onCreated: () => void }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [made, setMade] = useState<RunnerSettings | undefined>(undefined);
  const actions = useActions();
  const submit = (e: Event): void => {
    e.preventDefault();
    void actions.run('Create cluster', async () => {
      const j = await api.post<{ id: string; token: string }>('/2/clusters', { name: name.trim() });
      setMade({ clusterId: j.id, clusterToken: j.token, apiUrl: location.origin });
      setName('');
      onCreated();
    });
  };
  return (
    <section class="card">
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        Create cluster
      </button>
      {open && (
        <form aria-label="Create cluster" class="form-row" onSubmit={submit}>
          <Field label="Name" required value={name} onValue={setName} />
          <button type="submit" disabled={actions.busy}>
            Create
          </button>
          {actions.view}
        </form>
      )}
      {made !== undefined && <Created s={made} />}
    </section>
  );
}

function Created({ s }: { s: RunnerSettings }) {
  let userData: string;
  try {
    userData = fillUserData(userDataScript, s);
  } catch (err) {
    userData = `# ${err instanceof Error ? err.message : String(err)}`;
  }
  return (
    <div class="created">
      <p>
        <strong>Copy the token now: it is shown only once</strong> (iron-api keeps only its hash; <span class="mono">iron cluster credentials</span> mints another).
      </p>
      <dl class="fields">
        <dt>CLUSTER_ID</dt>
        <dd class="mono" data-field="cluster_id">
          {s.clusterId}
        </dd>
        <dt>CLUSTER_TOKEN</dt>
        <dd class="mono" data-field="cluster_token">
          {s.clusterToken}
        </dd>
      </dl>
      <Snippet label="docker run command" text={dockerRunCommand(s)} />
      <Snippet label="Cloud-init user data" text={userData} />
    </div>
  );
}

function Snippet({ label, text }: { label: string; text: string }) {
  const [copied, setCopied] = useState(false);
  const copy = (): void => {
    void navigator.clipboard.writeText(text).then(() => setCopied(true));
  };
  return (
    <div>
      <h3>{label}</h3>
      <pre role="region" aria-label={label} tabIndex={0}>
        <code>{text}</code>
      </pre>
      <button type="button" onClick={copy}>
        Copy {label}
      </button>
      {copied && <span role="status"> Copied</span>}
    </div>
  );
}
