// The API client: the only module that speaks HTTP to iron-api. Two faces over one transport:
// the project API (user token) and the runner protocol (cluster token).
import { ClustersApi } from './clusters.js';
import { HttpClient, type HttpClientOptions } from './http.js';
import { ProjectApi } from './project.js';
import { RunnerApi } from './runner.js';

export { HttpClient, type HttpClientOptions, type ApiRequest, type ApiResponse, type ProxySettings, type FailoverEvent } from './http.js';
export { ProjectApi, type CallOptions } from './project.js';
export { ClustersApi } from './clusters.js';
export { RunnerApi, conflictSize, logLimitSize, MAX_RESERVE_WAIT_S } from './runner.js';
export { AUTH_BACKOFF, CLI_RETRY, DELIVER_RETRY, NO_RETRY, POLL_BACKOFF, SHORT_RETRY, backoff, backoffDelayMs, withRetry, sleep, type RetryPolicy } from './retry.js';
export type * from './types.js';
export { TASK_STATUSES, FINAL_STATUSES } from './types.js';
export type * from '../protocol/runner.js';
export type { FinishStatus } from '../protocol/statuses.js';
export { FINISH_STATUSES } from '../protocol/statuses.js';

export interface IronClient {
  readonly http: HttpClient;
  readonly project: ProjectApi;
  readonly clusters: ClustersApi;
  close(): Promise<void>;
}

/** A user-token client for one project. */
export function createIronClient(options: HttpClientOptions & { projectId: string }): IronClient {
  const http = new HttpClient(options);
  return {
    http,
    project: new ProjectApi(http, options.projectId),
    clusters: new ClustersApi(http),
    close: () => http.close(),
  };
}

export interface RunnerClient {
  readonly http: HttpClient;
  readonly runner: RunnerApi;
  close(): Promise<void>;
}

/** A cluster-token client for the runner daemon (`token` = CLUSTER_TOKEN). */
export function createRunnerClient(options: HttpClientOptions & { clusterId: string }): RunnerClient {
  const http = new HttpClient(options);
  return { http, runner: new RunnerApi(http, options.clusterId), close: () => http.close() };
}
