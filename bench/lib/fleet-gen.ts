// A fleet generator process: simulated runners (fleet-sim.ts) driven over IPC by bench/fleet.ts, so
// the load's CPU is its own and not the API's or the bench driver's. Messages in: {start: SimConfig},
// {mark: true}, {count: true},
// {stop: true}; out: {started}, {mark: SimMark, cpu}, {completed}, {final: SimFinal, cpu}.
import { cpuSeconds } from './proc.js';
import { SimFleet, type SimConfig } from './fleet-sim.js';

let fleet: SimFleet | undefined;

process.on('message', (m: { start?: SimConfig; mark?: true; count?: true; stop?: true }) => {
  const send = (msg: unknown): void => void process.send?.(msg);
  if (m.start !== undefined) {
    fleet = new SimFleet(m.start);
    fleet.start();
    send({ started: true });
  } else if (m.mark === true && fleet !== undefined) {
    send({ mark: fleet.takeMark(), cpu: cpuSeconds(process.pid) });
  } else if (m.count === true && fleet !== undefined) {
    send({ completed: fleet.completedTotal });
  } else if (m.stop === true && fleet !== undefined) {
    const f = fleet;
    void f.stop().then((final) => {
      send({ final, cpu: cpuSeconds(process.pid) });
      process.disconnect();
    });
  }
});
