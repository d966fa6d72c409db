import { describe, expect, it } from 'vitest';
import { auditApiserverArgs, auditPolicy, emptyTally, tallyLine } from './audit.ts';

const event = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    stage: 'ResponseComplete',
    verb: 'patch',
    user: { username: 'sluice-bench', groups: ['system:masters'] },
    userAgent: 'kubernetes-client-javascript/2.0.1',
    objectRef: { resource: 'canaries', subresource: 'status', apiGroup: 'sluice.dev' },
    requestReceivedTimestamp: '2025-01-01T00:00:10.000000Z',
    stageTimestamp: '2025-01-01T00:00:10.010000Z',
    ...over,
  });

const window = {
  user: 'sluice-bench',
  from: Date.parse('2025-01-01T00:00:00Z'),
  to: Date.parse('2025-01-01T00:01:00Z'),
};

describe('tallyLine', () => {
  it('counts finished requests of the user within the window, by verb and resource', () => {
    const tally = emptyTally();
    tallyLine(tally, event(), window);
    tallyLine(
      tally,
      event({ verb: 'get', objectRef: { resource: 'deployments', apiGroup: 'apps' } }),
      window,
    );
    tallyLine(tally, event({ verb: 'watch', objectRef: { resource: 'deployments' } }), window);
    expect(tally).toEqual({
      total: 3,
      reads: 2,
      writes: 1,
      byVerb: { patch: 1, get: 1, watch: 1 },
      byRequest: { 'patch canaries/status': 1, 'get deployments': 1, 'watch deployments': 1 },
      userAgents: ['kubernetes-client-javascript/2.0.1'],
    });
  });

  it('leaves out other users, other stages, requests outside the window and broken lines', () => {
    const tally = emptyTally();
    tallyLine(tally, event({ user: { username: 'flagger-bench' } }), window);
    tallyLine(tally, event({ user: { username: 'sluice-bench-2' } }), window);
    tallyLine(tally, event({ stage: 'ResponseStarted' }), window);
    tallyLine(tally, event({ requestReceivedTimestamp: '2025-01-01T00:01:00Z' }), window);
    tallyLine(tally, event({ requestReceivedTimestamp: '2024-12-31T23:59:59Z' }), window);
    tallyLine(tally, event().slice(0, 80), window);
    expect(tally.total).toBe(0);
  });

  it('counts every write verb as a write and non-resource requests by path-less key', () => {
    const tally = emptyTally();
    for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection'])
      tallyLine(tally, event({ verb }), window);
    tallyLine(tally, event({ verb: 'get', objectRef: undefined }), window);
    expect(tally.writes).toBe(5);
    expect(tally.byRequest['get (non-resource)']).toBe(1);
  });
});

describe('audit configuration', () => {
  it('logs only the benchmarked users, at Metadata, once per request', () => {
    const policy = JSON.parse(auditPolicy(['sluice-bench', 'flagger-bench'])) as {
      omitStages: string[];
      rules: { level: string; users?: string[] }[];
    };
    expect(policy.omitStages).toEqual(['RequestReceived', 'ResponseStarted']);
    expect(policy.rules).toEqual([
      { level: 'Metadata', users: ['sluice-bench', 'flagger-bench'] },
      { level: 'None' },
    ]);
    expect(auditApiserverArgs('/p.json', '/a.log')).toContain('--audit-log-mode=blocking');
  });
});
