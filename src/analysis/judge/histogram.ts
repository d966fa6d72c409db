// Cumulative histograms as Prometheus keeps them (one count per upper bound `le`, the last
// one +Inf), and the quantile Prometheus' histogram_quantile() would read from them.

/** A cumulative histogram bucket: observations ≤ `le`. */
export interface Bucket {
  le: number;
  count: number;
}

/**
 * The q-quantile (0–1) of a cumulative histogram, interpolated within the bucket as
 * Prometheus' histogram_quantile does (the first bucket starts at 0). NaN without
 * observations; the largest finite bound when the quantile falls into +Inf.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let previousLe = 0;
  let previousCount = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (bucket.le === Number.POSITIVE_INFINITY) return previousLe;
      const inBucket = bucket.count - previousCount;
      if (inBucket === 0) return bucket.le;
      return previousLe + (bucket.le - previousLe) * ((rank - previousCount) / inBucket);
    }
    previousLe = bucket.le;
    previousCount = bucket.count;
  }
  return previousLe;
}
