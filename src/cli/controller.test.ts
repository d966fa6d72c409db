import { describe, expect, it } from 'vitest';
import { parseControllerFlags } from './controller.ts';

// The controller's flags as commander hands them over (defaults filled in).
const defaults = {
  meshProvider: 'istio',
  metricsServer: 'http://prometheus:9090',
  logLevel: 'info',
  port: 8080,
  leaderElect: true,
  leaderElectionNamespace: 'sluice-system',
  leaderElectionId: 'sluice-controller',
  leaseDuration: '15s',
  concurrency: 32,
  resync: '5m',
  metricBatchWindow: '250ms',
};

describe('--metric-batch-window', () => {
  it('is a duration in milliseconds; 0 turns batching off', () => {
    expect(parseControllerFlags(defaults).metricBatchWindow).toBe(250);
    expect(parseControllerFlags({ ...defaults, metricBatchWindow: '0' }).metricBatchWindow).toBe(0);
    expect(parseControllerFlags({ ...defaults, metricBatchWindow: '1s' }).metricBatchWindow).toBe(1000);
  });

  it('refuses what is not a duration, or a window longer than 5 s, naming the flag', () => {
    expect(() => parseControllerFlags({ ...defaults, metricBatchWindow: 'soon' })).toThrow(
      '--metric-batch-window soon: expected a duration such as 30s, 5m or 1h',
    );
    expect(() => parseControllerFlags({ ...defaults, metricBatchWindow: '10s' })).toThrow(
      '--metric-batch-window 10s: must be at most 5s',
    );
  });
});
