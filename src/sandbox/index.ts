// The sandbox's public surface. Everything outside src/sandbox/ imports from here.
export type { ContainerEngine, ContainerCreateBody, ContainerState, ContainerSummary, EngineInfo, ImageInfo, NetworkInfo, RegistryAuth, UsageSample, VolumeSummary } from './engine.js';
export { createDockerEngine, type DockerEngineOptions } from './docker-engine.js';
export { Sandbox } from './sandbox.js';
export type {
  CodeFileEntry,
  CodeFiles,
  OutcomeKind,
  OutputSink,
  PreparedTask,
  SandboxCapabilities,
  SandboxNetworkOptions,
  SandboxOptions,
  SandboxOutcome,
  TaskLimits,
  TaskSpec,
  TaskUsage,
} from './types.js';
export type { ReapedTask } from './reaper.js';
export { LABEL_INSTANCE, LABEL_MANAGED, LABEL_RESERVATION, LABEL_TASK } from './labels.js';
export { DEFAULT_NETWORK, removeJobNetwork } from './network.js';
export { CAP_ADD, DEFAULT_PIDS_LIMIT } from './container-spec.js';
export { CONFIG_FILE, PAYLOAD_FILE, TASK_DIR } from './input-contract.js';
