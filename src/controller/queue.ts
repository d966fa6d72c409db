/**
 * A work queue in the manner of client-go's: a key is processed by one worker at a time;
 * adding a key that is already queued is a no-op; adding one that is being processed
 * marks it dirty so it runs once more afterwards; at most `concurrency` keys run at once.
 * Failed keys are retried with exponential backoff.
 */
export interface WorkQueueOptions {
  concurrency: number;
  /** First retry delay; doubles per consecutive failure up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, error: unknown, attempt: number) => void;
  setTimeout?: (fn: () => void, ms: number) => unknown;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
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

  add(key: string): void {
    if (this.shuttingDown) return;
    const until = this.backoffUntil.get(key);
    if (until !== undefined && Date.now() < until) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Queue the key after a delay (used for retries). */
  addAfter(key: string, ms: number): void {
    this.options.setTimeout(() => this.add(key), ms);
  }

  get depth(): number {
    return this.queue.length;
  }

  get active(): number {
    return this.running.size;
  }

  /** Stop taking work; resolves when in-flight keys have finished. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.queue.length = 0;
    this.queued.clear();
    await this.idle();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running.size < this.options.concurrency && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.running.add(key);
      void this.process(key);
    }
    if (this.running.size === 0 && this.queue.length === 0) {
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
      if (this.dirty.delete(key) && !this.shuttingDown) {
        this.queued.add(key);
        this.queue.push(key);
      }
      this.pump();
    }
  }
}
