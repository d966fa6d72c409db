// The load tester runs a task once per idempotency key (docs/decisions/0026-side-effects-once.md):
// a controller that dies (or loses its Lease) while a hook is in flight calls it again with the
// same key, and the repeat gets the first call's answer instead of a second load test. Memory
// is bounded in count and time; only answers that would be the same again are kept.

export interface RecentAnswersOptions {
  /** Keys remembered at most; the oldest is forgotten first. */
  max?: number;
  /** How long a key is remembered. */
  ttlMs?: number;
  now?: () => number;
}

export const DEFAULT_REMEMBERED_KEYS = 10_000;
export const DEFAULT_KEY_TTL_MS = 60 * 60_000;

interface Entry<T> {
  at: number;
  answer: Promise<T>;
}

/** A task's answer by idempotency key; calls with a key in flight share the first call's answer. */
export class RecentAnswers<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: RecentAnswersOptions = {}) {
    this.#max = options.max ?? DEFAULT_REMEMBERED_KEYS;
    this.#ttlMs = options.ttlMs ?? DEFAULT_KEY_TTL_MS;
    this.#now = options.now ?? Date.now;
    if (!Number.isInteger(this.#max) || this.#max < 1)
      throw new Error(`RecentAnswers: max must be a positive integer, got ${this.#max}`);
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The first answer for `key` (`repeat: true`), or `run()`'s. An answer `keep` refuses (a
   * failure worth retrying: 5xx, 429) is forgotten once it arrives, so a retry runs again.
   */
  async once(
    key: string,
    run: () => Promise<T>,
    keep: (answer: T) => boolean,
  ): Promise<{ answer: T; repeat: boolean }> {
    const now = this.#now();
    this.#forgetExpired(now);
    const known = this.#entries.get(key);
    if (known) return { answer: await known.answer, repeat: true };
    const answer = run();
    const entry: Entry<T> = { at: now, answer };
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    const forget = () => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    };
    try {
      const settled = await answer;
      if (!keep(settled)) forget();
      return { answer: settled, repeat: false };
    } catch (error) {
      forget();
      throw error;
    }
  }

  #forgetExpired(now: number): void {
    // Insertion order is age order: stop at the first entry still young enough.
    for (const [key, entry] of this.#entries) {
      if (now - entry.at < this.#ttlMs) break;
      this.#entries.delete(key);
    }
  }
}
