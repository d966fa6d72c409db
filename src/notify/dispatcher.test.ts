import { describe, expect, it } from 'vitest';
import { Notifications } from './dispatcher.ts';
import type { Notification, Notifier } from './notifier.ts';
import type { CanaryAlert } from './providers.ts';

const base: Notification = {
  canary: { name: 'podinfo', namespace: 'test' },
  phase: 'Progressing',
  severity: 'warn',
  message: 'halt: request-success-rate 93.1% < 99%',
  fields: {},
};

function recorder(
  name: string,
  behaviour: 'ok' | 'fail' | 'hang' = 'ok',
): Notifier & { posted: Notification[] } {
  const posted: Notification[] = [];
  return {
    name,
    posted,
    post: async (notification) => {
      posted.push(notification);
      if (behaviour === 'fail') throw new Error(`notifier ${name}: answered 500`);
      if (behaviour === 'hang') await new Promise(() => undefined);
    },
  };
}

const alert = (
  name: string,
  severity: CanaryAlert['severity'],
  provider = name,
  namespace?: string,
): CanaryAlert => ({
  name,
  severity,
  providerRef: { name: provider, ...(namespace ? { namespace } : {}) },
});

describe('Notifications', () => {
  it('sends to the global notifiers when the canary has no alerts', async () => {
    const slack = recorder('global slack');
    const notifications = new Notifications({
      resolve: () => Promise.reject(new Error('unused')),
      global: [slack],
    });
    const report = await notifications.notify(undefined, base);
    expect(report).toEqual({ sent: ['global slack'], failed: [] });
    expect(slack.posted).toEqual([base]);
  });

  it('lets the canary alerts override the global notifiers and filters by severity', async () => {
    const global = recorder('global slack');
    const providers = new Map([
      ['test/all', recorder('all')],
      ['test/warnings', recorder('warnings')],
      ['test/errors', recorder('errors')],
      ['ops/shared', recorder('shared')],
    ]);
    const resolved: string[] = [];
    const notifications = new Notifications({
      global: [global],
      resolve: async (ref) => {
        resolved.push(`${ref.namespace}/${ref.name}`);
        return providers.get(`${ref.namespace}/${ref.name}`)!;
      },
    });
    const alerts = [
      alert('a', 'info', 'all'),
      alert('w', 'warn', 'warnings'),
      alert('e', 'error', 'errors'),
      alert('s', 'warn', 'shared', 'ops'),
    ];
    const report = await notifications.notify(alerts, base);
    expect(resolved.sort()).toEqual(['ops/shared', 'test/all', 'test/warnings']);
    expect(report.sent).toHaveLength(3);
    expect(global.posted).toEqual([]);
    expect(providers.get('test/errors')!.posted).toEqual([]);
  });

  it('reports failures and hangs without throwing, within the deadline', async () => {
    const notifications = new Notifications({
      deadlineMs: 50,
      resolve: async (ref) => {
        if (ref.name === 'broken') throw new Error('alertprovider test/broken not found');
        return recorder(ref.name, ref.name === 'hangs' ? 'hang' : ref.name === 'fails' ? 'fail' : 'ok');
      },
    });
    const started = performance.now();
    const report = await notifications.notify(
      [
        alert('1', 'info', 'ok'),
        alert('2', 'info', 'fails'),
        alert('3', 'info', 'hangs'),
        alert('4', 'info', 'broken'),
      ],
      base,
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(report.sent).toEqual(['alert 1 (provider test/ok)']);
    expect(report.failed.map((f) => f.error).sort()).toEqual([
      'alertprovider test/broken not found',
      'no answer within 50ms',
      'notifier fails: answered 500',
    ]);
  });
});
