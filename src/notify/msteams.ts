import { postJson } from './http.ts';
import { checkedUrl, type NotifierConfig, type NotifierDeps } from './config.ts';
import {
  canaryTitle,
  displayFields,
  headline,
  type Notification,
  type Notifier,
  type Severity,
} from './notifier.ts';

// Microsoft Teams through a Workflows webhook ("Post to a channel when a webhook request
// is received"): a message envelope carrying one Adaptive Card 1.4. The retired Office
// 365 connector MessageCard format is not sent.

const STYLE: Record<Severity, { container: string; text: string }> = {
  info: { container: 'good', text: 'Good' },
  warn: { container: 'warning', text: 'Warning' },
  error: { container: 'attention', text: 'Attention' },
};

export function msteamsPayload(notification: Notification) {
  const style = STYLE[notification.severity];
  const facts = displayFields(notification);
  return {
    type: 'message',
    summary: headline(notification),
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body: [
            {
              type: 'Container',
              style: style.container,
              items: [
                {
                  type: 'TextBlock',
                  text: canaryTitle(notification),
                  weight: 'Bolder',
                  size: 'Medium',
                  color: style.text,
                  wrap: true,
                },
                { type: 'TextBlock', text: notification.message, wrap: true },
              ],
            },
            ...(facts.length > 0 ? [{ type: 'FactSet', facts }] : []),
          ],
        },
      },
    ],
  };
}

export function createMSTeamsNotifier(config: NotifierConfig, deps: NotifierDeps = {}): Notifier {
  const url = checkedUrl(config);
  return {
    name: config.name,
    post: (notification) => postJson(url, msteamsPayload(notification), { provider: config.name, ...deps }),
  };
}
