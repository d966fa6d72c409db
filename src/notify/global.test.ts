import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { addNotificationOptions, globalNotifiers, type GlobalNotifyOptions } from './global.ts';

function parse(argv: string[]): GlobalNotifyOptions {
  const command = addNotificationOptions(new Command('controller').exitOverride());
  command.parse(argv, { from: 'user' });
  return command.opts<GlobalNotifyOptions>();
}

const saved = { ...process.env };
afterEach(() => {
  for (const key of ['SLACK_URL', 'MSTEAMS_URL', 'EVENT_WEBHOOK_URL', 'CLUSTER_NAME']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe('global notification settings', () => {
  it('read flags, with Flagger’s names', () => {
    expect(
      parse([
        '--slack-url',
        'https://hooks.slack.test/x',
        '--slack-channel',
        '#deploys',
        '--msteams-url',
        'https://teams.test/y',
        '--event-webhook',
        'http://events.test/',
        '--cluster-name',
        'prod-eu',
      ]),
    ).toEqual({
      slackUrl: 'https://hooks.slack.test/x',
      slackChannel: '#deploys',
      msteamsUrl: 'https://teams.test/y',
      eventWebhook: 'http://events.test/',
      clusterName: 'prod-eu',
    });
  });

  it('fall back to environment variables, flags winning', () => {
    process.env.SLACK_URL = 'https://hooks.slack.test/from-env';
    process.env.CLUSTER_NAME = 'env-cluster';
    expect(parse(['--cluster-name', 'flag-cluster'])).toMatchObject({
      slackUrl: 'https://hooks.slack.test/from-env',
      clusterName: 'flag-cluster',
    });
  });

  it('make a Slack and a Teams notifier when both are set (Flagger kept one)', () => {
    expect(globalNotifiers({}).map((n) => n.name)).toEqual([]);
    expect(
      globalNotifiers({ slackUrl: 'https://hooks.slack.test/x', msteamsUrl: 'https://teams.test/y' }).map(
        (n) => n.name,
      ),
    ).toEqual(['global slack', 'global msteams']);
  });

  it('refuse a URL that is not http(s) without printing it', () => {
    expect(() => globalNotifiers({ slackUrl: 'ftp://secret-host/T0SECRET' })).toThrow(
      'notifier global slack: the address must be an http(s) URL, not ftp:',
    );
  });
});
