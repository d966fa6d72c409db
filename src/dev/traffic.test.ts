import { describe, expect, it } from 'vitest';
import { fileSdContent, targetFileName } from './targets.ts';
import { destinationLabels, ISTIO_LABELS, sourceFailureLabels } from './traffic.ts';

const pod = {
  workload: 'podinfo',
  namespace: 'shop',
  labels: { app: 'podinfo', version: 'v2', 'pod-template-hash': 'abc' },
  serviceAccount: 'default',
};
const backend = { service: 'podinfo-canary', namespace: 'shop' };

describe('mesh labels', () => {
  it('are what an Istio destination sidecar reports for the pod that answered', () => {
    const labels = destinationLabels({ workload: 'unknown', namespace: 'unknown' }, backend, pod, 503);
    expect(Object.keys(labels).sort()).toEqual([...ISTIO_LABELS].sort());
    expect(labels).toMatchObject({
      reporter: 'destination',
      destination_workload: 'podinfo',
      destination_workload_namespace: 'shop',
      destination_app: 'podinfo',
      destination_version: 'v2',
      destination_service: 'podinfo-canary.shop.svc.cluster.local',
      destination_service_name: 'podinfo-canary',
      destination_service_namespace: 'shop',
      destination_canonical_service: 'podinfo',
      destination_canonical_revision: 'v2',
      destination_principal: 'spiffe://cluster.local/ns/shop/sa/default',
      response_code: '503',
      request_protocol: 'http',
      response_flags: '-',
    });
  });

  it('leave failures the proxy answered itself to the source reporter, with the Envoy flag', () => {
    const labels = sourceFailureLabels({ workload: 'loadgen', namespace: 'test' }, backend, 503, 'UH');
    expect(labels).toMatchObject({
      reporter: 'source',
      source_workload: 'loadgen',
      source_workload_namespace: 'test',
      destination_workload: 'unknown',
      destination_service_name: 'podinfo-canary',
      response_code: '503',
      response_flags: 'UH',
    });
  });
});

describe('scrape target files', () => {
  it('are file_sd JSON with safe names', () => {
    expect(JSON.parse(fileSdContent('127.0.0.1:8080', { pod: 'p' }))).toEqual([
      { targets: ['127.0.0.1:8080'], labels: { pod: 'p' } },
    ]);
    expect(targetFileName('sluice-dev-app-1a2b', 'shop-podinfo/x y')).toBe(
      'sluice-dev-app-1a2b-shop-podinfo_x_y.json',
    );
  });
});
