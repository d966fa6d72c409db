/**
 * Latency percentiles in constant memory: log-spaced buckets 2 % wide from 1 µs up, so
 * a run of millions of requests costs a few kilobytes and p99 is within 2 %.
 */
export class LatencyHistogram {
  static readonly #GROWTH = 1.02;
  static readonly #MIN_MS = 0.001;
  readonly #counts = new Map<number, number>();
  #total = 0;
  #sum = 0;
  #max = 0;

  record(ms: number): void {
    const value = Math.max(ms, LatencyHistogram.#MIN_MS);
    const bucket = Math.floor(
      Math.log(value / LatencyHistogram.#MIN_MS) / Math.log(LatencyHistogram.#GROWTH),
    );
    this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + 1);
    this.#total += 1;
    this.#sum += ms;
    this.#max = Math.max(this.#max, ms);
  }

  get count(): number {
    return this.#total;
  }

  get mean(): number {
    return this.#total === 0 ? 0 : this.#sum / this.#total;
  }

  get max(): number {
    return this.#max;
  }

  /** The value below which `q` (0..1) of the samples fall; 0 without samples. */
  quantile(q: number): number {
    if (this.#total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (const bucket of [...this.#counts.keys()].sort((a, b) => a - b)) {
      seen += this.#counts.get(bucket) ?? 0;
      if (seen >= rank) {
        // The bucket's upper edge, capped by the largest sample seen.
        return Math.min(LatencyHistogram.#MIN_MS * LatencyHistogram.#GROWTH ** (bucket + 1), this.#max);
      }
    }
    return this.#max;
  }
}
