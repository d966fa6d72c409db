import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../hooks/receiver.ts';
import { sluice, type SluiceProcess } from '../support/sluice.ts';
import { useScene } from '../support/scene.ts';

// An inconclusive analysis through the controller (issue 13 §9): a web MetricTemplate on
// loopback answers a latency between the metric's success and failure conditions. The
// canary holds its step without a failed check, pauses for a person at
// analysis.inconclusiveLimit (default 1), says so in status, Events and `sluice status`,
// and a person's `sluice promote` ends it.

const ns = useScene('inconclusive');
let controller: SluiceProcess;
let api: Receiver;

describe('sluice controller: an inconclusive analysis pauses for a person', () => {
  beforeAll(async () => {
    api = await startReceiver((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: 300 }));
    });
    await ns.apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'MetricTemplate',
      metadata: { name: 'latency', namespace: ns.name },
      spec: { provider: { type: 'web', address: `${api.url}/latency` }, web: { jsonPath: '$.value' } },
    });
    controller = await ns.startController();
    await ns.initialize(
      {
        provider: 'kubernetes',
        analysis: {
          interval: '10s',
          iterations: 2,
          metrics: [
            {
              name: 'latency',
              templateRef: { name: 'latency' },
              successCondition: 'result < 200.0',
              failureCondition: 'result > 400.0',
            },
          ],
        },
      },
      'example.com/podinfo:1.0.0',
    );
  });

  afterAll(async () => {
    await controller?.kill();
    await api?.close();
  });

  it('holds the step, counts no failure, notifies once, pauses; sluice status shows it; promote ends it', async () => {
    await ns.release('example.com/podinfo:1.0.1');
    const paused = await ns.phase(
      (c) =>
        c.status?.conditions?.some((x) => x.type === 'Ready' && x.reason === 'AnalysisInconclusive') === true,
      { timeoutMs: 120_000 },
    );
    expect(paused.status).toMatchObject({ phase: 'Progressing', failedChecks: 0, iterations: 0 });
    expect(paused.status?.lastAnalysis).toEqual([
      expect.objectContaining({ name: 'latency', value: 300, passed: false, inconclusive: true }),
    ]);

    // Checks go on while it waits; none counts as a failure and nothing advances.
    const queries = api.received.length;
    await ns.phase(() => api.received.length >= queries + 2, { timeoutMs: 60_000 });
    const held = await ns.phase('Progressing');
    expect(held.status).toMatchObject({ failedChecks: 0, iterations: 0 });
    const events = await ns.events();
    const inconclusive = [...events.entries()].filter(([message]) =>
      message.startsWith('analysis inconclusive'),
    );
    expect(inconclusive).toEqual([
      [
        expect.stringMatching(
          /^analysis inconclusive 1\/1, paused for a person \(sluice promote, sluice resume or sluice abort\): latency: inconclusive/,
        ),
        1,
      ],
    ]);

    const status = await sluice(['status', 'podinfo', '-n', ns.name]);
    expect(status.stdout).toContain('analysis inconclusive: paused for a person');
    expect(status.stdout).toMatch(/\? latency \(inconclusive\)\s+300/);

    expect((await sluice(['promote', 'podinfo', '-n', ns.name])).code).toBe(0);
    const done = await ns.phase('Succeeded', { timeoutMs: 120_000 });
    expect(done.status?.failedChecks).toBe(0);
    expect(done.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Ready', reason: 'Succeeded' }),
    );
  });
});
