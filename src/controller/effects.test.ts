import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Canary } from '../api/canary.ts';
import { silentLogger } from '../log.ts';
import type { Effect } from '../machine/types.ts';
import type { Notifications } from '../notify/dispatcher.ts';
import { canaryObject, fakeWorld } from '../../test/support/fakes.ts';
import { runSyncEffect, type EffectContext, type EffectDeps } from './effects.ts';
import { judgeMemory } from './judging.ts';
import { createMetrics } from './metrics.ts';

// The notify effect: muted (a webhook with muteAlert failed) tells no chat; a notifier URL
// that --allowed-url-hosts refused becomes a Warning Event naming the field and the host.

function setup(notify: Notifications['notify']) {
  const { target, router, events } = fakeWorld();
  const canary = Canary.parse(canaryObject());
  const ctx: EffectContext = {
    canary,
    subject: { apiVersion: 'sluice.dev/v1alpha1', kind: 'Canary', name: 'podinfo', namespace: 'shop' },
    target,
    router,
    ensureRouting: async () => undefined,
    trackedConfigs: {},
    phase: 'Progressing',
    weight: 50,
    failedChecks: 1,
    judge: judgeMemory({}, () => undefined),
    lastAppliedSpec: () => undefined,
  };
  const deps: EffectDeps = {
    kube: fakeWorld().store.kube(),
    log: silentLogger,
    metrics: createMetrics(new Registry()),
    events,
    notifications: { notify },
  };
  const run = (effect: Effect) => runSyncEffect(effect, ctx, deps, () => 0);
  return { events, run };
}

describe('the notify effect', () => {
  it('tells no chat when the alert is muted', async () => {
    const told: string[] = [];
    const { run } = setup(async (_alerts, notification) => {
      told.push(notification.message);
      return { sent: ['slack'], failed: [] };
    });
    await run({ id: 1, kind: 'notify', severity: 'warn', message: 'halt advancement', muted: true });
    await run({ id: 2, kind: 'notify', severity: 'warn', message: 'rolling back' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(told).toEqual(['rolling back']);
  });

  it('records a Warning Event for a notifier URL the allowlist refused', async () => {
    const { events, run } = setup(async () => ({
      sent: [],
      failed: [
        {
          provider: 'alertprovider shop/slack',
          error: 'refused',
          refused: { field: 'alertprovider shop/slack', host: 'hooks.attacker.example' },
        },
      ],
    }));
    await run({ id: 1, kind: 'notify', severity: 'warn', message: 'rolling back' });
    await expect
      .poll(() => events.events)
      .toEqual([
        'Warning UrlNotAllowed: alert alertprovider shop/slack was not sent: --allowed-url-hosts does not allow host hooks.attacker.example (alertprovider shop/slack)',
      ]);
  });
});
