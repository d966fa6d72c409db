/**
 * A work queue in the manner of client-go's: a key is processed by one worker at a time;
 * adding a key that is already queued is a no-op; adding one that is being processed
 * marks it dirty so it runs once more afterwards; at most `concurrency` keys run at once.
 * Failed keys are retried with exponential backoff.
 *
 * Two lanes. Events, ticks, retries and start-up go in the foreground; the periodic resync
 * goes in the background, served only while no foreground key waits. A foreground add of a
 * key waiting in the background moves it forward. At ten thousand canaries a resync pass
 * takes longer than the resync period on a loaded apiserver: in one lane it kept the queue
 * full of idle canaries and the ones being bootstrapped waited behind them
 * (docs/performance.md, "10 000 on December 7th").
 */
export type Lane = 'foreground' | 'background';

export interface WorkQueueOptions {
  concurrency: number;
  /** First retry delay; doubles per consecutive failure up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, error: unknown, attempt: number) => void;
  setTimeout?: (fn: () => void, ms: number) => unknown;
}

/** A FIFO with O(1) take (Array#shift copies the whole array of a deep queue). */
class Fifo {
  private items: string[] = [];
  private head = 0;

  push(key: string): void {
    this.items.push(key);
  }

  take(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head];
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class WorkQueue {
  private readonly foreground = new Fifo();
  /** May hold keys since moved forward or taken: `queued` says whether an entry still stands. */
  private readonly background = new Fifo();
  private readonly queued = new Map<string, Lane>();
  private queuedBackground = 0;
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Keys waiting out a retry backoff: adds before then are folded into the retry. */
  private readonly backoffUntil = new Map<string, number>();
  private readonly idleWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private readonly worker: (key: string) => Promise<void>;
  private readonly options: Required<Omit<WorkQueueOptions, 'onError'>> & Pick<WorkQueueOptions, 'onError'>;

  constructor(worker: (key: string) => Promise<void>, options: WorkQueueOptions) {
    this.worker = worker;
    this.options = {
      baseBackoffMs: 500,
      maxBackoffMs: 30_000,
      setTimeout: (fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return t;
      },
      ...options,
    };
  }

  add(key: string, lane: Lane = 'foreground'): void {
    if (this.shuttingDown) return;
    const until = this.backoffUntil.get(key);
    if (until !== undefined && Date.now() < until) return;
    if (this.running.has(key)) {
      // The reconcile under way is the pass a resync asks for; anything else runs once more.
      if (lane === 'foreground') this.dirty.add(key);
      return;
    }
    const waiting = this.queued.get(key);
    if (waiting === 'foreground' || waiting === lane) return;
    if (waiting === 'background') this.queuedBackground -= 1;
    this.enqueue(key, lane);
    this.pump();
  }

  /** Queue the key after a delay (used for retries). */
  addAfter(key: string, ms: number): void {
    this.options.setTimeout(() => this.add(key), ms);
  }

  /** Keys waiting, both lanes. */
  get depth(): number {
    return this.queued.size;
  }

  /** Keys waiting in the background lane (the resync). */
  get backgroundDepth(): number {
    return this.queuedBackground;
  }

  get active(): number {
    return this.running.size;
  }

  /** Stop taking work; resolves when in-flight keys have finished. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.foreground.clear();
    this.background.clear();
    this.queued.clear();
    this.queuedBackground = 0;
    await this.idle();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.queued.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(key: string, lane: Lane): void {
    this.queued.set(key, lane);
    if (lane === 'foreground') {
      this.foreground.push(key);
    } else {
      this.queuedBackground += 1;
      this.background.push(key);
    }
  }

  private next(): string | undefined {
    for (let key = this.foreground.take(); key !== undefined; key = this.foreground.take()) {
      if (this.queued.get(key) === 'foreground') return key;
    }
    for (let key = this.background.take(); key !== undefined; key = this.background.take()) {
      if (this.queued.get(key) !== 'background') continue; // moved forward since, or already run
      this.queuedBackground -= 1;
      return key;
    }
    return undefined;
  }

  private pump(): void {
    while (this.running.size < this.options.concurrency) {
      const key = this.next();
      if (key === undefined) break;
      this.queued.delete(key);
      this.running.add(key);
      void this.process(key);
    }
    if (this.running.size === 0 && this.queued.size === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async process(key: string): Promise<void> {
    try {
      await this.worker(key);
      this.failures.delete(key);
    } catch (error) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.options.onError?.(key, error, attempt);
      const delay = Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** (attempt - 1));
      // A failing key does not spin on its own events: it runs again when the backoff ends.
      this.dirty.delete(key);
      this.backoffUntil.set(key, Date.now() + delay);
      if (!this.shuttingDown) {
        this.options.setTimeout(() => {
          this.backoffUntil.delete(key);
          this.add(key);
        }, delay);
      }
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key) && !this.shuttingDown) this.enqueue(key, 'foreground');
      this.pump();
    }
  }
}
