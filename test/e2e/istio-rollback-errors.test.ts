import { expect } from 'vitest';
import { istioRelease } from './istio-release.ts';

// Scenario 2: a release whose pods answer 30 % of requests with 500 is rolled back. The
// error rate is real (the demo app's ERROR_RATE), seen by the traffic layer's Istio
// series, and judged by the built-in request-success-rate (min 99) from the real Prometheus.

istioRelease({
  prefix: 'e2e-istio-errors',
  describe: 'e2e: Istio canary, release with 30% errors',
  it: 'halts at the first failed check and rolls back at the threshold; the primary is untouched',
  fault: {
    env: { ERROR_RATE: '0.3' },
    failure: 'request-success-rate: [\\d.]+ < min 99',
    // The canary really failed some of the requests it got.
    traffic: (counts) => expect(counts.byStatus['500'] ?? 0).toBeGreaterThan(5),
    // Prometheus saw about 70 % success on the canary's own series.
    analysis: (checks) => {
      expect(checks['request-success-rate']?.passed).toBe(false);
      expect(checks['request-success-rate']?.value).toBeGreaterThan(50);
      expect(checks['request-success-rate']?.value).toBeLessThan(90);
      expect(checks['request-duration']?.passed).toBe(true);
    },
  },
});
