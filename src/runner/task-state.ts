// The per-task state machine. Illegal transitions are bugs, so they throw instead of being ignored.
import { IronError } from '../errors.js';

export type TaskPhase = 'reserved' | 'decrypting' | 'preparing' | 'running' | 'reporting' | 'done';

const NEXT: Readonly<Record<TaskPhase, readonly TaskPhase[]>> = {
  reserved: ['decrypting', 'preparing', 'reporting', 'done'],
  decrypting: ['preparing', 'reporting', 'done'],
  preparing: ['running', 'reporting', 'done'],
  running: ['reporting', 'done'],
  reporting: ['done'],
  done: [],
};

export class TaskState {
  private current: TaskPhase = 'reserved';
  private readonly enteredAt = new Map<TaskPhase, number>([['reserved', Date.now()]]);

  get phase(): TaskPhase {
    return this.current;
  }

  to(next: TaskPhase): void {
    if (!NEXT[this.current].includes(next)) {
      throw new IronError('ERR_INTERNAL', `illegal task transition ${this.current} -> ${next}`);
    }
    this.current = next;
    this.enteredAt.set(next, Date.now());
  }

  /** Milliseconds since the task was reserved. */
  age(): number {
    return Date.now() - (this.enteredAt.get('reserved') ?? Date.now());
  }
}
