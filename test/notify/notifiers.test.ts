import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryWebhookSchema } from '../../src/hooks/types.ts';
import { callWebhook } from '../../src/hooks/webhook.ts';
import { kubeNotifierResolver, Notifications } from '../../src/notify/dispatcher.ts';
import { createNotifier, type ProviderType } from '../../src/notify/factory.ts';
import { globalNotifiers } from '../../src/notify/global.ts';
import type { Notification } from '../../src/notify/notifier.ts';
import type { CanaryAlert } from '../../src/notify/providers.ts';
import { useNamespace } from '../support/kube.ts';
import { createAlertProvider } from './alert-providers.ts';
import { freePort } from '../../src/dev/process.ts';
import { sleep, startReceiver, type Receiver } from '../hooks/receiver.ts';

// Every notifier posts to a real receiver on loopback; the JSON each one sends is checked
// against its provider's documented format, and a captured log is searched for secrets.

const ns = useNamespace('notify');

const notification: Notification = {
  canary: { name: 'podinfo', namespace: 'test' },
  phase: 'Failed',
  severity: 'error',
  message: 'rolled back: failed checks threshold reached (5)',
  fields: { target: 'Deployment/podinfo.test', weight: 0, failedChecks: 5, threshold: 5, cluster: 'prod-eu' },
};

let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver(async (request, response) => {
    const path = new URL(request.path, 'http://receiver').pathname;
    if (path.startsWith('/teams')) return void response.writeHead(202).end(); // Workflows answer 202
    if (path.startsWith('/discord')) return void response.writeHead(204).end(); // Discord answers 204
    if (path.startsWith('/echo-500')) {
      // A hostile receiver that echoes the secret URL and token back in its error.
      return void response
        .writeHead(500)
        .end(
          `failed ${request.path} auth=${String(request.headers.authorization)} for http://127.0.0.1${request.path}`,
        );
    }
    if (path.startsWith('/hang')) {
      await sleep(10_000);
      if (!response.destroyed) response.writeHead(200).end();
      return;
    }
    response.writeHead(200).end('ok');
  });
});

afterAll(async () => {
  await receiver.close();
});

async function post(
  type: ProviderType,
  path: string,
  extra: { token?: string; username?: string; channel?: string } = {},
) {
  const notifier = createNotifier(type, { name: `test ${type}`, url: `${receiver.url}${path}`, ...extra });
  await notifier.post(notification);
  const request = receiver.received.findLast((r) => r.path.startsWith(path.replace(/\/slack$/, '')));
  expect(request?.method).toBe('POST');
  expect(request?.headers['content-type']).toBe('application/json');
  return { request: request!, body: JSON.parse(request!.body) as Record<string, unknown> };
}

describe('provider formats over HTTP', () => {
  it('Slack: headline block, coloured attachment with fields, bearer token', async () => {
    const { request, body } = await post('slack', '/slack-hook', {
      token: 'xoxb-1',
      username: 'sluice',
      channel: '#deploys',
    });
    expect(request.headers.authorization).toBe('Bearer xoxb-1');
    expect(body).toMatchObject({
      text: 'podinfo.test: rolled back: failed checks threshold reached (5)',
      username: 'sluice',
      channel: '#deploys',
      blocks: [{ type: 'section', text: { type: 'mrkdwn' } }],
      attachments: [{ color: '#a30200', blocks: [{ type: 'section' }] }],
    });
    const fields = (
      body.attachments as Array<{ blocks: Array<{ fields: Array<{ type: string; text: string }> }> }>
    )[0]!.blocks[0]!.fields;
    expect(fields.map((f) => f.text)).toEqual([
      '*Target*\nDeployment/podinfo.test',
      '*Phase*\nFailed',
      '*Canary weight*\n0%',
      '*Failed checks*\n5/5',
      '*Cluster*\nprod-eu',
    ]);
    expect(fields.every((f) => f.type === 'mrkdwn')).toBe(true);
  });

  it('Microsoft Teams: an Adaptive Card 1.4 in the Workflows envelope (202 accepted)', async () => {
    const { body } = await post('msteams', '/teams/workflows/abc');
    expect(body.type).toBe('message');
    const attachments = body.attachments as Array<{ contentType: string; content: Record<string, unknown> }>;
    expect(attachments).toHaveLength(1);
    expect(attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = attachments[0]!.content;
    expect(card).toMatchObject({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
    });
    expect(card.body).toEqual([
      {
        type: 'Container',
        style: 'attention',
        items: [
          {
            type: 'TextBlock',
            text: 'podinfo.test',
            weight: 'Bolder',
            size: 'Medium',
            color: 'Attention',
            wrap: true,
          },
          { type: 'TextBlock', text: 'rolled back: failed checks threshold reached (5)', wrap: true },
        ],
      },
      {
        type: 'FactSet',
        facts: [
          { title: 'Target', value: 'Deployment/podinfo.test' },
          { title: 'Phase', value: 'Failed' },
          { title: 'Canary weight', value: '0%' },
          { title: 'Failed checks', value: '5/5' },
          { title: 'Cluster', value: 'prod-eu' },
        ],
      },
    ]);
  });

  it('Discord: one native embed on the plain webhook URL (204 accepted)', async () => {
    const { request, body } = await post('discord', '/discord/api/webhooks/1/tok/slack');
    expect(request.path).toBe('/discord/api/webhooks/1/tok');
    expect(body).toMatchObject({ username: 'sluice', allowed_mentions: { parse: [] } });
    const embeds = body.embeds as Array<Record<string, unknown>>;
    expect(embeds).toHaveLength(1);
    expect(embeds[0]).toMatchObject({
      title: 'podinfo.test',
      description: 'rolled back: failed checks threshold reached (5)',
      color: 0xa30200,
    });
    expect(embeds[0]!.fields).toContainEqual({ name: 'Failed checks', value: '5/5', inline: true });
  });

  it('Google Chat: a cardsV2 card with header and decorated fields', async () => {
    const { body } = await post('googlechat', '/chat/v1/spaces/AAA/messages');
    const cards = body.cardsV2 as Array<{ cardId: string; card: Record<string, unknown> }>;
    expect(cards).toHaveLength(1);
    expect(cards[0]!.card.header).toEqual({ title: 'podinfo.test', subtitle: 'sluice · error' });
    const widgets = (cards[0]!.card.sections as Array<{ widgets: unknown[] }>)[0]!.widgets;
    expect(widgets[0]).toEqual({
      textParagraph: {
        text: '<font color="#a30200"><b>rolled back: failed checks threshold reached (5)</b></font>',
      },
    });
    expect(widgets).toContainEqual({ decoratedText: { topLabel: 'Cluster', text: 'prod-eu' } });
  });

  it('generic: a flat JSON document with a bearer token', async () => {
    const { request, body } = await post('generic', '/generic', { token: 'generic-token' });
    expect(request.headers.authorization).toBe('Bearer generic-token');
    expect(body).toEqual({
      source: 'sluice',
      name: 'podinfo',
      namespace: 'test',
      phase: 'Failed',
      severity: 'error',
      message: 'rolled back: failed checks threshold reached (5)',
      text: 'podinfo.test: rolled back: failed checks threshold reached (5)',
      fields: notification.fields,
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });
});

describe('AlertProviders from the API', () => {
  it('resolve URL and token from their Secret and honour each alert’s severity', async () => {
    await createAlertProvider(
      ns,
      'all',
      { type: 'slack' },
      { address: `${receiver.url}/ap/all`, token: 'tok-all' },
    );
    await createAlertProvider(
      ns,
      'errors',
      { type: 'msteams' },
      { address: `${receiver.url}/teams/ap/errors` },
    );
    await createAlertProvider(
      ns,
      'warnings',
      { type: 'generic' },
      { address: `${receiver.url}/ap/warnings` },
    );
    const notifications = new Notifications({ resolve: kubeNotifierResolver(ns.kube), global: [] });
    const alerts: CanaryAlert[] = [
      { name: 'all', severity: 'info', providerRef: { name: 'all' } },
      { name: 'errors', severity: 'error', providerRef: { name: 'errors', namespace: ns.name } },
      { name: 'warnings', severity: 'warn', providerRef: { name: 'warnings' } },
    ];
    const canary = { ...notification, canary: { name: 'podinfo', namespace: ns.name } };

    const info = await notifications.notify(alerts, { ...canary, severity: 'info', message: 'advance 20%' });
    expect(info.failed).toEqual([]);
    expect(info.sent).toEqual([`alert all (provider ${ns.name}/all)`]);

    const error = await notifications.notify(alerts, canary);
    expect(error.failed).toEqual([]);
    expect(error.sent).toHaveLength(3);
    expect(receiver.received.filter((r) => r.path === '/ap/all').map((r) => r.headers.authorization)).toEqual(
      ['Bearer tok-all', 'Bearer tok-all'],
    );
    expect(receiver.json('/teams/ap/errors')).toHaveLength(1);
    expect(receiver.json('/ap/warnings')).toHaveLength(1);
  });

  it('never let a URL or token reach the log, whatever fails', async () => {
    const secrets = [
      'T0SECRET1',
      'xoxb-SECRET-2',
      'SECRETPATH3',
      'SECRETPATH4',
      'sk-SECRET-5',
      'HOOKSECRET6',
      'hunter7',
    ];
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    );
    const refusedPort = await freePort();
    await createAlertProvider(
      ns,
      'hostile',
      { type: 'slack' },
      {
        address: `${receiver.url}/echo-500/SECRETPATH3`,
        token: 'sk-SECRET-5',
      },
    );
    await createAlertProvider(
      ns,
      'hung',
      { type: 'discord' },
      { address: `${receiver.url}/hang/SECRETPATH4` },
    );
    await createAlertProvider(ns, 'no-address', { type: 'slack' }, { token: 'sk-SECRET-5' });
    await createAlertProvider(ns, 'no-secret', { type: 'slack' }, undefined);

    const global = new Notifications({
      logger,
      resolve: kubeNotifierResolver(ns.kube),
      global: globalNotifiers(
        {
          slackUrl: `${receiver.url}/echo-500/services/T0SECRET1`,
          slackToken: 'xoxb-SECRET-2',
          msteamsUrl: `http://127.0.0.1:${refusedPort}/T0SECRET1`,
        },
        { backoff: { initialDelayMs: 10, maxDelayMs: 10 } },
      ),
    });
    const globalReport = await global.notify(undefined, notification);
    expect(globalReport.failed.map((f) => f.provider).sort()).toEqual(['global msteams', 'global slack']);

    const perCanary = new Notifications({
      logger,
      deadlineMs: 1_000,
      resolve: kubeNotifierResolver(ns.kube, { timeoutMs: 500, retries: 0 }),
    });
    const alerts: CanaryAlert[] = ['hostile', 'hung', 'no-address', 'no-secret', 'missing'].map((name) => ({
      name,
      severity: 'info',
      providerRef: { name },
    }));
    const report = await perCanary.notify(alerts, {
      ...notification,
      canary: { name: 'podinfo', namespace: ns.name },
    });
    expect(report.sent).toEqual([]);
    expect(report.failed).toHaveLength(5);

    const hook = canaryWebhookSchema.parse({
      name: 'gate',
      type: 'confirm-rollout',
      url: `http://admin:hunter7@127.0.0.1:${refusedPort}/gate?token=HOOKSECRET6`,
    });
    await callWebhook(
      hook,
      { name: 'podinfo', namespace: 'test', phase: 'Progressing', checksum: 'x' },
      { logger },
    );

    const log = lines.join('');
    // The log says what failed, by name…
    expect(log).toContain('global slack');
    expect(log).toContain('answered 500');
    expect(log).toContain(`alertprovider ${ns.name}/hostile`);
    // A token with no address is Slack's Web API, which needs a channel.
    expect(log).toContain(
      `alertprovider ${ns.name}/no-address: a Slack token posts with the Web API (chat.postMessage), which needs a channel`,
    );
    expect(log).toContain(`alertprovider ${ns.name}/missing not found`);
    expect(log).toContain('connection refused');
    // …and never with what would let someone post in its place.
    for (const secret of secrets) expect(log).not.toContain(secret);
  });
});
