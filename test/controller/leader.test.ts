import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/kube.ts';
import type { SluiceProcess } from '../support/sluice.ts';
import { useScene } from '../support/scene.ts';

// Two replicas campaign for one Lease; only the leader acts. Kill the leader mid-rollout:
// the other takes over within the lease duration and finishes the rollout.

const ns = useScene('leader');
const replicas: SluiceProcess[] = [];
const LEASE = [
  '--leader-election-namespace',
  '',
  '--leader-election-id',
  'sluice-test',
  '--lease-duration',
  '4s',
];

async function holder(): Promise<string | undefined> {
  const lease = await ns.kube.coordination.readNamespacedLease({ name: 'sluice-test', namespace: ns.name });
  return lease.spec?.holderIdentity || undefined;
}

describe('leader election', () => {
  beforeAll(async () => {
    const args = LEASE.map((a) => (a === '' ? ns.name : a));
    replicas.push(await ns.startController({ name: 'a', args }));
    replicas.push(await ns.startController({ name: 'b', args }));
    await ns.initialize(
      {
        provider: 'kubernetes',
        analysis: { interval: '10s', threshold: 1, iterations: 3 },
      },
      'example.com/podinfo:1.0.0',
    );
  });
  afterAll(async () => Promise.all(replicas.map((p) => p.kill('SIGKILL'))));

  it('one replica acts; the other takes over when the leader dies', async () => {
    const leaderId = await eventually('a lease holder', holder);
    const leader = replicas.find((p) => leaderId.endsWith(`-${p.child.pid}`))!;
    const standby = replicas.find((p) => p !== leader)!;
    expect(leader).toBeDefined();
    const leaderMetrics = await (await fetch(`http://127.0.0.1:${leader.port}/metrics`)).text();
    const standbyMetrics = await (await fetch(`http://127.0.0.1:${standby.port}/metrics`)).text();
    expect(leaderMetrics).toMatch(/^sluice_leader 1$/m);
    expect(standbyMetrics).toMatch(/^sluice_leader 0$/m);
    // The standby is ready (its caches are warm) though it does not act.
    expect((await fetch(`http://127.0.0.1:${standby.port}/readyz`)).status).toBe(200);

    await ns.release('example.com/podinfo:2.0.0');
    await ns.phase((c) => c.status?.phase === 'Progressing' && Number(c.status?.iterations) >= 1);
    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    const newHolder = await eventually('a new lease holder', async () => {
      const id = await holder();
      return id && id !== leaderId ? id : undefined;
    });
    const takeover = Date.now() - killedAt;
    expect(newHolder.endsWith(`-${standby.child.pid}`)).toBe(true);
    expect(takeover).toBeLessThan(4000 + 3000);

    await ns.phase('Succeeded');
    const events = await ns.events();
    expect(events.get('promotion completed')).toBe(1);
    expect(await standby.log()).toContain('became the leader');
  });

  it('a leader stopped with SIGTERM releases the lease at once', async () => {
    const current = replicas.find((p) => p.child.exitCode === null && p.child.signalCode === null)!;
    await current.kill('SIGTERM');
    expect(await current.exited).toBe(0);
    expect(await holder()).toBeUndefined();
  });
});
