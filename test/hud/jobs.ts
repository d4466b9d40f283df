// Jobs the HUD tests run on a real iron-runner, and the handles to steer them from outside.
import { LABEL_TASK } from '../../src/sandbox/index.js';
import { LABEL_ROLE } from '../../src/sandbox/labels.js';
import { testDocker } from '../helpers/docker.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A job that prints its payload, then waits until openGate() is called on it, then prints a green
 * "gate open" (ANSI) and "finished":
 * a test sees the task running with part of its log, on its own schedule, never on a sleep.
 */
export const GATED = `sh -c 'echo "started $(cat "$PAYLOAD_FILE")"; while [ ! -e /tmp/go ]; do sleep 0.2; done; printf "\\033[1;32m%s\\033[0m\\n" "gate open"; echo finished'`;

/** Lets a GATED job of task `id` finish: touches its gate file inside the running job container. */
export async function openGate(id: string): Promise<void> {
  const docker = testDocker();
  const container = await waitFor(
    `the running job container of task ${id}`,
    async () => {
      const [c] = await docker.listContainers({ filters: { label: [`${LABEL_TASK}=${id}`, `${LABEL_ROLE}=job`], status: ['running'] } });
      return c;
    },
    { timeoutMs: 30_000 },
  );
  const exec = await docker.getContainer(container.Id).exec({ Cmd: ['touch', '/tmp/go'], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
    stream.resume();
  });
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`touch /tmp/go in the job of ${id} exited ${String(ExitCode)}`);
}
