import { describe, expect, it } from 'vitest';
import { canaryContext } from './types.ts';

describe('canaryContext', () => {
  const spec = { targetRef: { name: 'podinfo' }, service: {} };

  it("fills in Flagger's defaults from the target name", () => {
    expect(canaryContext({ metadata: { name: 'c', namespace: 'test' }, spec })).toEqual({
      name: 'c',
      namespace: 'test',
      target: 'podinfo',
      service: 'podinfo',
      ingress: 'podinfo',
      route: 'podinfo',
    });
  });

  it('takes service, ingress, provider and metricsServer from the spec', () => {
    expect(
      canaryContext({
        metadata: { name: 'c', namespace: 'test' },
        spec: {
          ...spec,
          service: { name: 'web' },
          ingressRef: { name: 'web-ing' },
          provider: 'nginx',
          metricsServer: 'http://prometheus:9090',
        },
      }),
    ).toMatchObject({
      service: 'web',
      ingress: 'web-ing',
      provider: 'nginx',
      metricsServer: 'http://prometheus:9090',
    });
  });
});
