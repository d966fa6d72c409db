import { postJson } from './http.ts';
import { checkedUrl, type NotifierConfig, type NotifierDeps } from './config.ts';
import { canaryTitle, displayFields, SEVERITY_COLOURS, escapeHtml } from './notifier.ts';
import type { Notification, Notifier } from './notifier.ts';

// Google Chat incoming webhook with a cardsV2 card: the canary as header, the message
// coloured by severity, one decoratedText widget per field. Chat's card text accepts a
// small HTML subset, so field values are escaped.

export function googleChatPayload(notification: Notification) {
  const title = canaryTitle(notification);
  return {
    cardsV2: [
      {
        cardId: `sluice-${notification.canary.namespace}-${notification.canary.name}`,
        card: {
          header: { title, subtitle: `sluice · ${notification.severity}` },
          sections: [
            {
              widgets: [
                {
                  textParagraph: {
                    text: `<font color="#${SEVERITY_COLOURS[notification.severity]}"><b>${escapeHtml(notification.message)}</b></font>`,
                  },
                },
                ...displayFields(notification).map((field) => ({
                  decoratedText: { topLabel: field.title, text: escapeHtml(field.value) },
                })),
              ],
            },
          ],
        },
      },
    ],
  };
}

export function createGoogleChatNotifier(config: NotifierConfig, deps: NotifierDeps = {}): Notifier {
  const url = checkedUrl(config);
  return {
    name: config.name,
    post: (notification) =>
      postJson(url, googleChatPayload(notification), { provider: config.name, ...deps }),
  };
}
