import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SluiceProcess } from '../support/sluice.ts';
import { useScene } from '../support/scene.ts';

// SIGKILL the controller in the middle of a rollout and start a new one: the rollout goes
// on from where the Canary's status says, with no step repeated or skipped.

const ns = useScene('restart');
const processes: SluiceProcess[] = [];

describe('controller restart in the middle of a rollout', () => {
  beforeAll(async () => {
    processes.push(await ns.startController({ name: 'first', args: ['--no-leader-elect', '--step-events'] }));
    await ns.initialize(
      {
        provider: 'gatewayapi',
        service: { port: 9898, gatewayRefs: [{ name: 'public', namespace: 'gateways' }] },
        analysis: { interval: '10s', threshold: 1, stepWeights: [10, 30, 60] },
      },
      'example.com/podinfo:1.0.0',
    );
  });
  afterAll(async () => Promise.all(processes.map((p) => p.kill('SIGKILL'))));

  it('completes with the same outcome and every step exactly once', async () => {
    await ns.release('example.com/podinfo:2.0.0');
    const midway = await ns.phase((c) => c.status?.canaryWeight === 30);
    expect(midway.status?.phase).toBe('Progressing');
    await processes[0]!.kill('SIGKILL');
    expect(await processes[0]!.exited).toBe('SIGKILL');

    processes.push(
      await ns.startController({ name: 'second', args: ['--no-leader-elect', '--step-events'] }),
    );
    const done = await ns.phase('Succeeded');
    expect(done.status?.lastPromotedSpec).toBe(done.status?.lastAppliedSpec);
    const primary = await ns.kube.apps.readNamespacedDeployment({
      name: 'podinfo-primary',
      namespace: ns.name,
    });
    expect(primary.spec?.template.spec?.containers[0]?.image).toBe('example.com/podinfo:2.0.0');

    const events = await ns.events();
    for (const weight of [10, 30, 60])
      expect(events.get(`advance canary weight ${weight}`), `weight ${weight}`).toBe(1);
    expect(events.get('new revision detected, starting canary analysis')).toBe(1);
    expect(events.get('promotion completed')).toBe(1);
    // The second process picked up from the status: it never saw the rollout start.
    expect(await processes[1]!.log()).not.toContain('new revision detected');
  });
});
