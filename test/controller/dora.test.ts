import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../hooks/receiver.ts';
import { sluice, type SluiceProcess } from '../support/sluice.ts';
import { useScene } from '../support/scene.ts';

// The DORA series through the controller as users run it (issue 13 §8): a release carrying
// dora.metrics/* annotations is rolled back, retried (rolled back again), retried once more
// and promoted. Provider kubernetes, so the strategy label is blue/green; a rollout webhook
// on loopback is the check, Slack and the event hook are loopback receivers too.

const ns = useScene('dora');
let controller: SluiceProcess;
let receiver: Receiver;
let healthy = false;
/** The commit time the pipeline stamped on the release: an hour before the test. */
const committedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000).toISOString();
const RELEASE = {
  'dora.metrics/deployment-id': 'deploy-2',
  'dora.metrics/commit-sha': 'abc123',
  'dora.metrics/timestamp': committedAt,
};

function release(image: string, annotations: Record<string, string>) {
  const deployment = ns.podinfo({ image });
  const template = deployment.spec.template as { metadata: Record<string, unknown> };
  template.metadata = { ...template.metadata, annotations };
  return deployment;
}

async function metrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${controller.port}/metrics`)).text();
}

function series(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('sluice controller: DORA metrics that mean what DORA means', () => {
  beforeAll(async () => {
    receiver = await startReceiver((request, response) => {
      const status = request.path === '/check' && !healthy ? 500 : 200;
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'unhealthy');
    });
    await ns.kube.core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'slack-url', namespace: ns.name },
        stringData: { address: `${receiver.url}/slack` },
      },
    });
    await ns.apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'AlertProvider',
      metadata: { name: 'slack', namespace: ns.name },
      spec: { type: 'slack', secretRef: { name: 'slack-url' } },
    });
    controller = await ns.startController();
    await ns.apply(release('example.com/podinfo:1.0.0', { 'dora.metrics/deployment-id': 'deploy-1' }));
    await ns.apply(
      ns.canary({
        provider: 'kubernetes',
        analysis: {
          interval: '10s',
          threshold: 1,
          iterations: 1,
          webhooks: [
            { name: 'check', type: 'rollout', url: `${receiver.url}/check` },
            { name: 'events', type: 'event', url: `${receiver.url}/event` },
          ],
          alerts: [{ name: 'slack', severity: 'info', providerRef: { name: 'slack' } }],
        },
      }),
    );
    await ns.phase('Initialized');
  });

  afterAll(async () => {
    await controller?.kill();
    await receiver?.close();
  });

  it('counts a retry as a rollout, times the restores, and starts lead time at the commit', async () => {
    await ns.apply(release('example.com/podinfo:1.0.1', RELEASE));
    const first = await ns.phase('Failed', { timeoutMs: 150_000 });
    expect(first.status?.release).toEqual({ deploymentId: 'deploy-2', commitSha: 'abc123', committedAt });

    // A retry of the same revision is a new rollout: it fails again.
    const retried = await sluice(['retry', 'podinfo', '-n', ns.name]);
    expect(retried.code, retried.stderr).toBe(0);
    const second = await ns.phase(
      (c) => c.status?.phase === 'Failed' && c.status.lastTransitionTime !== first.status?.lastTransitionTime,
      { timeoutMs: 150_000 },
    );
    expect(second.status?.revisionDetectedAt).toBe(first.status?.revisionDetectedAt);

    healthy = true;
    expect((await sluice(['retry', 'podinfo', '-n', ns.name])).code).toBe(0);
    const promoted = await ns.phase('Succeeded', { timeoutMs: 170_000 });

    const text = await metrics();
    const blueGreen = `namespace="${ns.name}",strategy="blueGreen"`;
    const started = series(text, 'sluice_canary_rollouts_started_total', blueGreen);
    const rollbacks = series(text, 'sluice_canary_rollbacks_total', blueGreen);
    expect({ started, rollbacks }).toEqual({ started: 3, rollbacks: 2 });
    expect(rollbacks! / started!).toBeLessThanOrEqual(1);
    expect(series(text, 'sluice_canary_promotions_total', blueGreen)).toBe(1);
    // Time to restore, once per rollback: decided → the route write that gave the primary all traffic.
    expect(series(text, 'sluice_canary_rollback_duration_seconds_count', blueGreen)).toBe(2);
    expect(series(text, 'sluice_canary_rollback_duration_seconds_sum', blueGreen)).toBeLessThan(10);
    // Lead time from the commit stamp to the promotion completing.
    const lead = series(text, 'sluice_canary_lead_time_seconds_sum', `${blueGreen},source="commit"`);
    const expected = (Date.parse(promoted.status!.lastTransitionTime!) - Date.parse(committedAt)) / 1000;
    expect(lead).toBeCloseTo(expected, 0);
    expect(
      series(text, 'sluice_canary_lead_time_seconds_count', `${blueGreen},source="detection"`),
    ).toBeUndefined();

    // The deployment id and commit sha travel with Events, Slack messages and webhook metadata.
    const events = await ns.kube.core.listNamespacedEvent({
      namespace: ns.name,
      fieldSelector: 'involvedObject.kind=Canary,involvedObject.name=podinfo',
    });
    const completed = events.items.find((e) => e.message === 'promotion completed');
    expect(completed?.metadata.annotations).toMatchObject({
      'dora.metrics/deployment-id': 'deploy-2',
      'dora.metrics/commit-sha': 'abc123',
    });
    const slack = receiver.received.filter((r) => r.path === '/slack').map((r) => r.body);
    const rolledBack = slack.filter((body) => body.includes('rolling back'));
    expect(rolledBack).toHaveLength(2);
    for (const body of rolledBack) expect(body).toMatch(/deploy-2[\s\S]*abc123/);
    for (const path of ['/check', '/event']) {
      const payloads = receiver.json(path) as { metadata?: Record<string, string> }[];
      expect(payloads.length, path).toBeGreaterThan(0);
      expect(payloads.at(-1)?.metadata).toMatchObject({
        'dora.metrics/deployment-id': 'deploy-2',
        'dora.metrics/commit-sha': 'abc123',
      });
    }
  });
});
