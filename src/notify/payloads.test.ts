import { describe, expect, it } from 'vitest';
import { SAMPLE_NOTIFICATION } from '../../test/support/notification.ts';
import { discordPayload, discordUrl } from './discord.ts';
import { genericPayload } from './generic.ts';
import { googleChatPayload } from './googlechat.ts';
import { msteamsPayload } from './msteams.ts';
import { slackPayload } from './slack.ts';

const sample = SAMPLE_NOTIFICATION;

// Each provider's documented shape, asserted field by field.

describe('slackPayload', () => {
  it('has a headline block and a coloured attachment with the fields', () => {
    const payload = slackPayload(sample, { username: 'sluice-bot', channel: '#deploys' });
    expect(payload).toMatchObject({
      text: 'podinfo.test: halt: request-success-rate 93.1% &lt; 99%',
      username: 'sluice-bot',
      channel: '#deploys',
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '*podinfo.test*: halt: request-success-rate 93.1% &lt; 99%' },
        },
      ],
      attachments: [{ color: '#daa038' }],
    });
    expect(payload.attachments[0]!.blocks![0]!.fields).toEqual([
      { type: 'mrkdwn', text: '*Target*\nDeployment/podinfo.test' },
      { type: 'mrkdwn', text: '*Phase*\nProgressing' },
      { type: 'mrkdwn', text: '*Canary weight*\n20%' },
      { type: 'mrkdwn', text: '*Failed checks*\n2/5' },
      { type: 'mrkdwn', text: '*Cluster*\nprod-eu' },
    ]);
  });

  it('colours by severity and leaves the channel to the webhook when unset', () => {
    expect(slackPayload({ ...sample, severity: 'info' }, {}).attachments[0]!.color).toBe('#2eb886');
    const error = slackPayload({ ...sample, severity: 'error' }, {});
    expect(error.attachments[0]!.color).toBe('#a30200');
    expect(error).not.toHaveProperty('channel');
    expect(error.username).toBe('sluice');
  });
});

describe('msteamsPayload', () => {
  it('wraps an Adaptive Card 1.4 in the Workflows message envelope', () => {
    const payload = msteamsPayload({
      ...sample,
      severity: 'error',
      message: 'rolled back: failed checks threshold reached (5)',
    });
    expect(payload.type).toBe('message');
    expect(payload.attachments).toHaveLength(1);
    const attachment = payload.attachments[0]!;
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(attachment.content).toMatchObject({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
    });
    const [header, facts] = attachment.content.body;
    expect(header).toMatchObject({
      type: 'Container',
      style: 'attention',
      items: [
        { type: 'TextBlock', text: 'podinfo.test', weight: 'Bolder', color: 'Attention' },
        { type: 'TextBlock', text: 'rolled back: failed checks threshold reached (5)', wrap: true },
      ],
    });
    expect(facts).toMatchObject({ type: 'FactSet' });
    expect(facts && 'facts' in facts ? facts.facts : []).toContainEqual({
      title: 'Canary weight',
      value: '20%',
    });
  });
});

describe('discordPayload', () => {
  it('sends one native embed with an integer colour and inline fields', () => {
    const payload = discordPayload(sample, {});
    expect(payload.username).toBe('sluice');
    expect(payload.allowed_mentions).toEqual({ parse: [] });
    expect(payload.embeds).toHaveLength(1);
    const embed = payload.embeds[0]!;
    expect(embed).toMatchObject({
      title: 'podinfo.test',
      description: 'halt: request-success-rate 93.1% < 99%',
      color: 0xdaa038,
    });
    expect(embed.fields[0]).toEqual({ name: 'Target', value: 'Deployment/podinfo.test', inline: true });
  });

  it('uses the native endpoint even for a Flagger-era /slack URL', () => {
    expect(discordUrl('https://discord.test/api/webhooks/1/abc/slack')).toBe(
      'https://discord.test/api/webhooks/1/abc',
    );
    expect(discordUrl('https://discord.test/api/webhooks/1/abc')).toBe(
      'https://discord.test/api/webhooks/1/abc',
    );
  });
});

describe('googleChatPayload', () => {
  it('sends a cardsV2 card with header, coloured message and decorated fields', () => {
    const payload = googleChatPayload({ ...sample, message: 'a <b> & c' });
    expect(payload.cardsV2).toHaveLength(1);
    const { cardId, card } = payload.cardsV2[0]!;
    expect(cardId).toBe('sluice-test-podinfo');
    expect(card.header).toEqual({ title: 'podinfo.test', subtitle: 'sluice · warn' });
    const widgets = card.sections[0]!.widgets;
    expect(widgets[0]).toEqual({
      textParagraph: { text: '<font color="#daa038"><b>a &lt;b&gt; &amp; c</b></font>' },
    });
    expect(widgets[1]).toEqual({ decoratedText: { topLabel: 'Target', text: 'Deployment/podinfo.test' } });
  });
});

describe('genericPayload', () => {
  it('is a flat JSON document with the fields', () => {
    expect(genericPayload(sample, new Date('2025-01-02T03:04:05Z'))).toEqual({
      source: 'sluice',
      name: 'podinfo',
      namespace: 'test',
      phase: 'Progressing',
      severity: 'warn',
      message: 'halt: request-success-rate 93.1% < 99%',
      text: 'podinfo.test: halt: request-success-rate 93.1% < 99%',
      fields: sample.fields,
      timestamp: '2025-01-02T03:04:05.000Z',
    });
  });
});
