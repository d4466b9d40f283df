// Shared facts for tests that use the real Docker engine.
import Docker from 'dockerode';

/** Built by `scripts/dev images` from busybox-static (no registry is reachable). */
export const TEST_IMAGE = process.env['IRON_TEST_IMAGE'] ?? 'iron-test/busybox:1';

export function testDocker(): Docker {
  return new Docker({ socketPath: '/var/run/docker.sock' });
}

/** Removes every container carrying `label=value`; returns how many there were. */
export async function removeLabelled(docker: Docker, label: string, value: string): Promise<number> {
  const found = await docker.listContainers({ all: true, filters: { label: [`${label}=${value}`] } });
  await Promise.all(found.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  return found.length;
}

/** Commits a container's filesystem as repo:tag with these labels (image-cache tests make distinct local images with it). */
export async function commitContainer(docker: Docker, id: string, repo: string, tag: string, labels: Record<string, string>): Promise<string> {
  const r = (await docker.getContainer(id).commit({ repo, tag, changes: Object.entries(labels).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`) })) as { Id?: string };
  return r.Id ?? '';
}
