import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import { startSlackReceiver, type SlackReceiver } from '../../src/dev/slack-receiver.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { sluice } from '../support/sluice.ts';
import { APP, apply, deployIstioApp, demoDeployment, startStack, waitForBootstrap } from '../e2e/support.ts';
import { waitForCanary } from '../e2e/support.ts';

// Slack's buttons against the real controller: its messages for a gate carry approve/deny,
// presses come back signed the way Slack signs them (HMAC-SHA256 over v0:timestamp:body),
// and only a fresh, correctly signed press by an allowed user changes anything. The answer
// goes to the response_url (a loopback receiver) and says who did what.

const SECRET = 'slack-signing-secret-for-tests-0123456789';
const ns = useNamespace('chatops');
let stack: AppStack;
let traffic: DemoLoad;
let answers: SlackReceiver;
let dir: string;

interface Button {
  action_id: string;
  value: string;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-chatops-'));
  await writeFile(join(dir, 'secret'), `${SECRET}\n`);
  await writeFile(join(dir, 'users.yaml'), 'U0ALICE: all\nU0BOB: [pause]\n');
  answers = await startSlackReceiver();
  stack = await startStack(ns.name, {
    proxies: [{ service: APP }],
    loadtester: true,
    controllerArgs: [
      '--slack-signing-secret-file',
      join(dir, 'secret'),
      '--slack-users-file',
      join(dir, 'users.yaml'),
    ],
  });
  traffic = await deployIstioApp(stack, {
    stepWeights: [50],
    webhooks: [{ name: 'approval', type: 'confirm-promotion', url: `${stack.loadtesterUrl}/gate/check` }],
  });
});

afterAll(async () => {
  await traffic?.stop();
  await stack?.stop();
  await answers?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A block_actions request as Slack sends it: form-encoded payload, signed. */
function signed(user: string, button: Button, options: { secret?: string; ageSeconds?: number } = {}) {
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.slice(2).toLowerCase() },
    actions: [{ action_id: button.action_id, value: button.value, type: 'button' }],
    response_url: `${answers.url}/${user}`,
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const timestamp = String(Math.floor(Date.now() / 1000) - (options.ageSeconds ?? 0));
  const signature = `v0=${createHmac('sha256', options.secret ?? SECRET)
    .update(`v0:${timestamp}:${body}`)
    .digest('hex')}`;
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signature,
    },
  };
}

function post(request: { body: string; headers: Record<string, string> }) {
  return fetch(`http://127.0.0.1:${stack.controller.port}/slack/interactions`, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
}

/** The buttons of the last Slack message that has them. */
function buttonsOfLastMessage(): Map<string, Button> {
  for (const message of [...(stack.slack?.messages ?? [])].reverse()) {
    const blocks = (message.payload as { blocks?: { type: string; elements?: Button[] }[] }).blocks ?? [];
    const actions = blocks.find((b) => b.type === 'actions');
    if (actions?.elements) return new Map(actions.elements.map((e) => [e.action_id, e]));
  }
  return new Map();
}

const answered = (pattern: RegExp) =>
  eventually(
    `an answer matching ${pattern}`,
    async () => answers.messages.find((m) => pattern.test(m.text)),
    {
      timeoutMs: 15_000,
    },
  );

async function gateOpen(): Promise<boolean> {
  const response = await fetch(`${stack.loadtesterUrl}/gate/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: APP, namespace: ns.name }),
  });
  return response.ok;
}

describe('Slack interactions on the controller', () => {
  it('approves a gate from a signed press by an allowed user; forged, stale, replayed and unlisted presses change nothing', async () => {
    await waitForBootstrap(stack, traffic);
    await apply(ns.kube, demoDeployment(ns.name, '1.1.0'));
    await waitForCanary(ns.kube, ns.name, 'WaitingPromotion', { timeoutMs: 90_000 });
    await eventually('the gate message with buttons', async () => buttonsOfLastMessage().size === 2, {
      timeoutMs: 30_000,
    });
    const buttons = buttonsOfLastMessage();
    expect([...buttons.keys()]).toEqual(['sluice:approve', 'sluice:deny']);
    const approve = buttons.get('sluice:approve')!;
    expect(JSON.parse(approve.value)).toEqual({ namespace: ns.name, name: APP, gate: 'confirm-promotion' });

    // Forged (another secret), stale (6 minutes old), unsigned: 401, nothing happens.
    expect((await post(signed('U0ALICE', approve, { secret: 'not-the-secret' }))).status).toBe(401);
    expect((await post(signed('U0ALICE', approve, { ageSeconds: 360 }))).status).toBe(401);
    const unsigned = signed('U0ALICE', approve);
    expect(
      (await post({ body: unsigned.body, headers: { 'content-type': unsigned.headers['content-type'] } }))
        .status,
    ).toBe(401);
    const tampered = signed('U0BOB', approve);
    expect((await post({ ...tampered, body: tampered.body.replace('U0BOB', 'U0ALICE') })).status).toBe(401);

    // Signed, but Bob may only pause.
    expect((await post(signed('U0BOB', approve))).status).toBe(200);
    await answered(/<@U0BOB> may not press approve .*Nothing was changed/);
    expect(await gateOpen()).toBe(false);
    const held = await waitForCanary(ns.kube, ns.name, (c) => c.status?.phase === 'WaitingPromotion', {
      timeoutMs: 5_000,
    });
    expect(held.status?.phase).toBe('WaitingPromotion');

    // Alice approves: the load tester's gate opens, the canary is promoted.
    const press = signed('U0ALICE', approve);
    expect((await post(press)).status).toBe(200);
    await answered(new RegExp(`<@U0ALICE> approved the confirm-promotion gate of ${APP}\\.${ns.name}`));
    expect(await gateOpen()).toBe(true);
    await waitForCanary(ns.kube, ns.name, 'Succeeded', { timeoutMs: 60_000 });

    // The same request again is a replay.
    expect((await post(press)).status).toBe(401);

    const events = await ns.kube.core.listNamespacedEvent({
      namespace: ns.name,
      fieldSelector: `involvedObject.kind=Canary,involvedObject.name=${APP}`,
    });
    const opened = events.items.find((e) => e.reason === 'GateOpened');
    expect(opened?.message).toBe('confirm-promotion gate opened from Slack by alice (U0ALICE)');
    expect(opened?.metadata?.annotations?.['sluice.dev/actor']).toBe('alice (U0ALICE)');
  }, 300_000);

  it('pauses, denies and rolls back from Slack', async () => {
    // A person closes the gate again (as after every approved release); the next one waits.
    await fetch(`${stack.loadtesterUrl}/gate/close`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: APP, namespace: ns.name }),
    });
    await apply(ns.kube, demoDeployment(ns.name, '1.2.0'));
    await waitForCanary(ns.kube, ns.name, 'WaitingPromotion', { timeoutMs: 90_000 });
    const canaryRef = JSON.stringify({ namespace: ns.name, name: APP });

    expect((await post(signed('U0BOB', { action_id: 'sluice:rollback', value: canaryRef }))).status).toBe(
      200,
    );
    await answered(/<@U0BOB> may not press rollback/);
    expect((await post(signed('U0BOB', { action_id: 'sluice:pause', value: canaryRef }))).status).toBe(200);
    await answered(new RegExp(`<@U0BOB> paused ${APP}\\.${ns.name}`));
    await waitForCanary(ns.kube, ns.name, (c) => c.status?.lastCommand?.command === 'pause', {
      timeoutMs: 30_000,
    });

    const deny = buttonsOfLastMessage().get('sluice:deny')!;
    expect((await post(signed('U0ALICE', deny))).status).toBe(200);
    await answered(/<@U0ALICE> denied the confirm-promotion gate of .* and rolled it back/);
    const failed = await waitForCanary(ns.kube, ns.name, 'Failed', { timeoutMs: 30_000 });
    expect(failed.status?.message).toBe('rolling back: aborted by command');
    expect(await gateOpen()).toBe(false);

    // Retried, it runs again (still held by Bob's pause); "roll back now" rolls it back.
    expect((await sluice(['retry', APP, '-n', ns.name])).code).toBe(0);
    await waitForCanary(ns.kube, ns.name, 'Progressing', { timeoutMs: 60_000 });
    expect((await post(signed('U0ALICE', { action_id: 'sluice:rollback', value: canaryRef }))).status).toBe(
      200,
    );
    await answered(new RegExp(`<@U0ALICE> rolled back ${APP}\\.${ns.name}`));
    await waitForCanary(
      ns.kube,
      ns.name,
      (c) => c.status?.phase === 'Failed' && c.status.lastCommand?.command === 'abort',
      {
        timeoutMs: 30_000,
      },
    );
  }, 300_000);
});
