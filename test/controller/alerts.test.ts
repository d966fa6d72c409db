import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../hooks/receiver.ts';
import { eventually } from '../support/kube.ts';
import type { SluiceProcess } from '../support/sluice.ts';
import { useScene } from '../support/scene.ts';

// Issue 13 §6 and the URL allowlist through the controller, on the real control plane: a
// failing rollout hook with muteAlert records its Halt Event but tells no chat, and an
// AlertProvider whose address --allowed-url-hosts refuses becomes a UrlNotAllowed Warning
// Event (nothing is sent to it). Slack is a loopback receiver.

const ns = useScene('alerts');
let controller: SluiceProcess;
let receiver: Receiver;

async function addressSecret(name: string, address: string): Promise<void> {
  await ns.kube.core.createNamespacedSecret({
    namespace: ns.name,
    body: { metadata: { name, namespace: ns.name }, stringData: { address } },
  });
}

function slackBodies(): string[] {
  return receiver.received.filter((r) => r.path === '/slack').map((r) => r.body);
}

async function eventWith(text: string): Promise<string> {
  return eventually(
    `an Event on podinfo with "${text}"`,
    async () => [...(await ns.events('podinfo')).keys()].find((m) => m.includes(text)),
    { timeoutMs: 60_000 },
  );
}

describe('sluice controller: muted hooks and refused notifier URLs', () => {
  beforeAll(async () => {
    receiver = await startReceiver((request, response) => {
      const status = request.path === '/check' ? 500 : 200;
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'unhealthy');
    });
    await addressSecret('slack-url', `${receiver.url}/slack`);
    await addressSecret('attacker-url', 'https://hooks.attacker.example/services/T0/B0/x');
    for (const [name, secret] of [
      ['slack', 'slack-url'],
      ['attacker', 'attacker-url'],
    ] as const) {
      await ns.apply({
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'AlertProvider',
        metadata: { name, namespace: ns.name },
        spec: { type: 'slack', secretRef: { name: secret } },
      });
    }
    controller = await ns.startController({
      args: ['--no-leader-elect', '--allowed-url-hosts', 'cluster-local,127.0.0.1'],
    });
    await ns.initialize(
      {
        provider: 'kubernetes',
        analysis: {
          interval: '10s',
          // High enough that the test sees two halts and no rollback.
          threshold: 5,
          iterations: 3,
          webhooks: [{ name: 'check', type: 'rollout', url: `${receiver.url}/check`, muteAlert: true }],
          alerts: [
            { name: 'slack', severity: 'info', providerRef: { name: 'slack' } },
            { name: 'attacker', severity: 'info', providerRef: { name: 'attacker' } },
          ],
        },
      },
      'example.com/podinfo:1',
    );
    await ns.release('example.com/podinfo:2');
  });

  afterAll(async () => {
    await controller?.kill();
    await receiver?.close();
  });

  it('records the Halt Event of a failing hook with muteAlert and sends no Slack message for it', async () => {
    await eventWith('halt advancement: failed checks 1/5');
    // The second halt comes one interval later: the first one's notification, had it been
    // sent, went out in the same reconcile as its Event.
    await eventWith('halt advancement: failed checks 2/5');
    // Slack is reachable and told of what is not muted.
    expect(slackBodies().some((body) => body.includes('new revision detected'))).toBe(true);
    expect(slackBodies().filter((body) => body.includes('halt advancement'))).toEqual([]);
    expect((await ns.read('podinfo')).status?.phase).toBe('Progressing');
  });

  it('turns an AlertProvider address --allowed-url-hosts refuses into a UrlNotAllowed Warning Event', async () => {
    const message = await eventWith('--allowed-url-hosts does not allow host hooks.attacker.example');
    expect(message).toContain('alertprovider');
    expect(message).toContain('hooks.attacker.example');
    const all = await ns.kube.core.listNamespacedEvent({
      namespace: ns.name,
      fieldSelector: 'involvedObject.kind=Canary,involvedObject.name=podinfo,reason=UrlNotAllowed',
    });
    expect(all.items.length).toBeGreaterThan(0);
    expect(all.items.every((e) => e.type === 'Warning')).toBe(true);
  });
});
