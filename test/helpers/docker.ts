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
