import { istioRelease } from './istio-release.ts';

// Scenario 1: a healthy release on Istio is promoted. Real requests go through the
// traffic layer's stand-in for the Istio sidecars; the built-in metrics read their series
// from the real Prometheus at every step (istio-release.ts).

istioRelease({
  prefix: 'e2e-istio-ok',
  describe: 'e2e: Istio canary, healthy release',
  it: 'shifts real traffic to the new revision, checks it in Prometheus, and promotes it',
});
