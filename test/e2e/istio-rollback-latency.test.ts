import { expect } from 'vitest';
import { istioRelease } from './istio-release.ts';

// Scenario 3: a release whose pods answer after 800 ms is rolled back on latency. The
// delay is real (the demo app's LATENCY_MS), measured by the traffic layer into
// istio_request_duration_milliseconds, and judged by the built-in request-duration (p99,
// max 500 ms) from the real Prometheus; the success rate passes throughout.

istioRelease({
  prefix: 'e2e-istio-latency',
  describe: 'e2e: Istio canary, release answering in 800 ms',
  it: 'fails request-duration while request-success-rate passes, and rolls back; the primary is untouched',
  fault: {
    env: { LATENCY_MS: '800' },
    failure: 'request-duration: [\\d.]+ > max 500',
    // The canary answered all of its requests, slowly.
    traffic: (counts) => expect(counts.byStatus['500'] ?? 0).toBe(0),
    // Prometheus saw a p99 in the 500–1000 ms bucket and no errors on the canary's series.
    analysis: (checks) => {
      expect(checks['request-duration']?.passed).toBe(false);
      expect(checks['request-duration']?.value).toBeGreaterThan(800);
      expect(checks['request-duration']?.value).toBeLessThanOrEqual(1000);
      expect(checks['request-success-rate']).toMatchObject({ passed: true, value: 100 });
    },
  },
});
