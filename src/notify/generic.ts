import { postJson } from './http.ts';
import { checkedUrl, type NotifierConfig, type NotifierDeps } from './config.ts';
import { headline, type Notification, type Notifier } from './notifier.ts';

// A plain JSON document for receivers of one's own (incident tools, bots, audit logs).

export function genericPayload(notification: Notification, now: Date) {
  return {
    source: 'sluice',
    name: notification.canary.name,
    namespace: notification.canary.namespace,
    phase: notification.phase,
    severity: notification.severity,
    message: notification.message,
    text: headline(notification),
    fields: notification.fields,
    timestamp: now.toISOString(),
  };
}

export function createGenericNotifier(
  config: NotifierConfig,
  deps: NotifierDeps & { now?: () => Date } = {},
): Notifier {
  const url = checkedUrl(config);
  const now = deps.now ?? (() => new Date());
  return {
    name: config.name,
    post: (notification) =>
      postJson(url, genericPayload(notification, now()), {
        provider: config.name,
        token: config.token,
        ...deps,
      }),
  };
}
