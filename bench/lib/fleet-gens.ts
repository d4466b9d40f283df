// Fleet generators as the bench driver sees them: a child process each (the benchmark, so the
// generator's CPU is measured apart from the API's), or in this process (the test: no build needed).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SimFleet, type SimConfig, type SimFinal, type SimMark } from './fleet-sim.js';

export interface Generator {
  /** The process id, when the generator has its own process. */
  readonly pid: number | undefined;
  /** What happened since the previous mark, and the generator's CPU seconds so far (NaN inline). */
  mark(): Promise<{ mark: SimMark; cpu: number }>;
  /** Tasks finished since the start. */
  completed(): Promise<number>;
  stop(): Promise<{ final: SimFinal; cpu: number }>;
}

export function inlineGenerator(cfg: SimConfig): Generator {
  const fleet = new SimFleet(cfg);
  fleet.start();
  return {
    pid: undefined,
    mark: () => Promise.resolve({ mark: fleet.takeMark(), cpu: Number.NaN }),
    completed: () => Promise.resolve(fleet.completedTotal),
    stop: async () => ({ final: await fleet.stop(), cpu: Number.NaN }),
  };
}

/** A generator process (dist/bench/lib/fleet-gen.js); resolves once its runners started. */
export async function processGenerator(cfg: SimConfig): Promise<Generator> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./fleet-gen.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: Array<(m: Record<string, unknown>) => void> = [];
  child.on('message', (m: Record<string, unknown>) => waiting.shift()?.(m));
  const ask = <T>(msg: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => reject(new Error(`fleet generator exited (code ${code}, signal ${signal})`));
      child.once('exit', onExit);
      waiting.push((m) => {
        child.off('exit', onExit);
        resolve(m as T);
      });
      child.send(msg as object);
    });
  await ask({ start: cfg });
  return {
    pid: child.pid,
    mark: () => ask({ mark: true }),
    completed: async () => (await ask<{ completed: number }>({ count: true })).completed,
    stop: async () => {
      const out = await ask<{ final: SimFinal; cpu: number }>({ stop: true });
      // It exits once its sockets are closed; a straggler is not left running.
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await new Promise<void>((resolve) => (child.exitCode === null && child.signalCode === null ? child.once('exit', () => resolve()) : resolve()));
      clearTimeout(timer);
      return out;
    },
  };
}
