// What /readyz reports: each part (engine, API, runner) with its state and, when unhealthy, why. The
// parts are filled in as the daemon starts, so the endpoint answers from the first second: while the
// runner still waits for its Docker engine it says so, with the engine's address and last error.
import type { ReadinessProbe, ReadinessReport } from './health.js';

export interface ReadinessSources {
  /** Where the engine is (DOCKER_HOST or the default socket), for the reasons. */
  engineAddress: string;
  /** undefined until the runner exists. */
  runner(): { isDraining: boolean; apiProblem(): string | undefined } | undefined;
  /** undefined until the engine answered once; then a live ping. */
  ping(): ((signal: AbortSignal) => Promise<void>) | undefined;
  /** The last error met while waiting for the engine at start. */
  engineWaitError(): string | undefined;
}

export function readinessProbe(s: ReadinessSources): ReadinessProbe {
  return {
    async ready(signal: AbortSignal): Promise<ReadinessReport> {
      const parts: Array<[string, string | undefined]> = [];
      const ping = s.ping();
      if (ping === undefined) {
        const why = s.engineWaitError();
        parts.push(['engine', `starting: waiting for the Docker engine at ${s.engineAddress}${why === undefined ? '' : ` (${why})`}`]);
      } else {
        try {
          await ping(signal);
          parts.push(['engine', undefined]);
        } catch (err) {
          parts.push(['engine', `down: the Docker engine at ${s.engineAddress} does not answer (${err instanceof Error ? err.message : String(err)})`]);
        }
      }
      const runner = s.runner();
      if (runner === undefined) {
        parts.push(['api', 'starting: not contacted yet'], ['runner', 'starting']);
      } else {
        parts.push(['api', runner.apiProblem()], ['runner', runner.isDraining ? 'draining: takes no new tasks' : undefined]);
      }
      const problems = parts.filter(([, why]) => why !== undefined).map(([part, why]) => `${part}: ${why ?? ''}`);
      return { ok: problems.length === 0, parts: parts.map(([part, why]) => `${part}: ${why ?? 'ok'}`), ...(problems.length === 0 ? {} : { reason: problems.join('; ') }) };
    },
  };
}
