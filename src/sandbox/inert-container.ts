// The body of a container that is created and never started: the sandbox uses such containers to
// ask the engine things (does it take a disk quota? does it see this directory?) and to put files
// into a volume. No network, no capabilities, one pid, read-only root; a Cmd keeps create from
// failing on images without ENTRYPOINT/CMD.
import type { ContainerCreateBody, ContainerMount } from './engine.js';

export interface InertContainer {
  image: string;
  labels: Record<string, string>;
  mounts?: ContainerMount[];
  storageOpt?: Record<string, string>;
}

export function inertContainerBody(c: InertContainer): ContainerCreateBody {
  return {
    Image: c.image,
    Cmd: ['/iron-never-runs'],
    Env: [],
    Labels: c.labels,
    AttachStdout: false,
    AttachStderr: false,
    AttachStdin: false,
    OpenStdin: false,
    Tty: false,
    NetworkDisabled: true,
    HostConfig: {
      Init: false,
      Memory: 0,
      MemorySwap: 0,
      PidsLimit: 1,
      ReadonlyRootfs: true,
      ...(c.mounts === undefined ? {} : { Mounts: c.mounts }),
      ...(c.storageOpt === undefined ? {} : { StorageOpt: c.storageOpt }),
      NetworkMode: 'none',
      SecurityOpt: ['no-new-privileges'],
      CapDrop: ['ALL'],
      CapAdd: [],
      Privileged: false,
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
    },
  };
}
