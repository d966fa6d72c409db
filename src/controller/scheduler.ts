/**
 * One timer for every canary: a min-heap of (time, key) with a single setTimeout armed
 * for the earliest entry. Rescheduling a key replaces its previous time (lazy deletion),
 * so 1000 canaries cost 1000 heap entries, not 1000 timers.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { unref?: () => void };
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Entry {
  at: number;
  key: string;
}

export class TickScheduler {
  private readonly heap: Entry[] = [];
  private readonly due = new Map<string, number>();
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private readonly clock: Clock;
  private readonly fire: (key: string, scheduledAt: number) => void;

  constructor(fire: (key: string, scheduledAt: number) => void, clock: Clock = systemClock) {
    this.fire = fire;
    this.clock = clock;
  }

  /** Fire `key` at `at` (epoch ms); replaces any earlier schedule of the same key. */
  schedule(key: string, at: number): void {
    if (this.stopped) return;
    this.due.set(key, at);
    this.push({ at, key });
    this.arm();
  }

  cancel(key: string): void {
    this.due.delete(key);
  }

  /** When `key` fires next, if scheduled. */
  scheduledAt(key: string): number | undefined {
    return this.due.get(key);
  }

  get size(): number {
    return this.due.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.length = 0;
    this.due.clear();
  }

  private arm(): void {
    const top = this.heap[0];
    if (!top || top.at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = top.at;
    // setTimeout caps at ~24.8 days; re-arming on wake handles anything longer.
    const delay = Math.min(Math.max(0, top.at - this.clock.now()), 2 ** 31 - 1);
    const handle = this.clock.setTimeout(() => this.run(), delay);
    handle.unref?.();
    this.timer = handle;
  }

  private run(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    for (let top = this.heap[0]; top && top.at <= now; top = this.heap[0]) {
      this.pop();
      // Skip entries superseded by a later schedule() of the same key.
      if (this.due.get(top.key) !== top.at) continue;
      this.due.delete(top.key);
      this.fire(top.key, top.at);
    }
    this.arm();
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Entry).at <= entry.at) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && (heap[right] as Entry).at < (heap[left] as Entry).at ? right : left;
      if ((heap[child] as Entry).at >= last.at) break;
      heap[i] = heap[child] as Entry;
      i = child;
    }
    heap[i] = last;
  }
}
