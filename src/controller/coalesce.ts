/**
 * Wake-ups in bursts become at most two: the first event of a key fires at once, later ones
 * within `windowMs` are folded into one more firing at the end of the window. The
 * controller-manager updates a scaling Deployment's status several times within a second,
 * and each update would otherwise cost every canary watching it a full reconcile.
 */
export interface CoalescerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemTimers: CoalescerTimers = {
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class Coalescer {
  private readonly windows = new Map<string, { handle: unknown; again: string | undefined }>();
  private readonly windowMs: number;
  private readonly fire: (key: string, why: string) => void;
  private readonly timers: CoalescerTimers;

  constructor(
    windowMs: number,
    fire: (key: string, why: string) => void,
    timers: CoalescerTimers = systemTimers,
  ) {
    this.windowMs = windowMs;
    this.fire = fire;
    this.timers = timers;
  }

  add(key: string, why: string): void {
    const open = this.windows.get(key);
    if (open) {
      open.again = why;
      return;
    }
    if (this.windowMs <= 0) {
      this.fire(key, why);
      return;
    }
    const window: { handle: unknown; again: string | undefined } = { handle: undefined, again: undefined };
    this.windows.set(key, window);
    window.handle = this.timers.setTimeout(() => {
      this.windows.delete(key);
      if (window.again !== undefined) this.add(key, window.again);
    }, this.windowMs);
    this.fire(key, why);
  }

  /** Drops every pending firing. */
  stop(): void {
    for (const window of this.windows.values()) this.timers.clearTimeout(window.handle);
    this.windows.clear();
  }
}
