import type { CanaryWebhook } from '../hooks/types.ts';
import { sendEventWebhooks, type WebhookDeps } from '../hooks/webhook.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { Notifications } from './dispatcher.ts';
import type { EventRecorder, EventSubject } from './events.ts';
import { describeMoment, type Moment } from './messages.ts';
import type { NotificationFields } from './notifier.ts';
import type { CanaryAlert } from './providers.ts';

/** What announce needs to know about the canary at the moment it reports. */
export interface AnnouncedCanary extends EventSubject {
  phase: string;
  checksum: string;
  alerts?: readonly CanaryAlert[];
  webhooks?: readonly CanaryWebhook[];
  fields: Omit<NotificationFields, 'cluster'>;
}

export interface AnnounceDeps {
  notifications: Notifications;
  events: EventRecorder;
  /** The controller's --event-webhook. */
  globalEventWebhook?: string;
  clusterName?: string;
  webhookDeps?: WebhookDeps;
  now?: () => Date;
  logger?: Logger;
}

export interface AnnounceOptions {
  /** A webhook with `muteAlert` failed: record the Event, skip chat. */
  muteAlert?: boolean;
}

/**
 * Tells everyone about one moment at once: a Kubernetes Event on the Canary, the chat
 * notifiers and the event webhooks, with the same words. Never throws; each channel
 * logs its own failures.
 */
export async function announce(
  canary: AnnouncedCanary,
  moment: Moment,
  deps: AnnounceDeps,
  options: AnnounceOptions = {},
): Promise<void> {
  const logger = deps.logger ?? silentLogger;
  const described = describeMoment(moment);
  const now = (deps.now ?? (() => new Date()))();
  const tasks: Array<Promise<unknown>> = [
    deps.events.record(canary, described.eventType, described.reason, described.message),
    sendEventWebhooks(
      canary.webhooks ?? [],
      deps.globalEventWebhook,
      { name: canary.name, namespace: canary.namespace, phase: canary.phase, checksum: canary.checksum },
      { message: described.message, type: described.eventType, timestamp: now.getTime() },
      deps.webhookDeps,
    ).then((run) => {
      for (const result of run.results.filter((r) => !r.passed)) {
        logger.warn(
          { canary: `${canary.name}.${canary.namespace}`, error: result.message },
          'event webhook failed',
        );
      }
    }),
  ];
  if (!options.muteAlert) {
    tasks.push(
      deps.notifications.notify(canary.alerts, {
        canary: { name: canary.name, namespace: canary.namespace },
        phase: canary.phase,
        severity: described.severity,
        message: described.message,
        fields: { ...canary.fields, ...(deps.clusterName ? { cluster: deps.clusterName } : {}) },
      }),
    );
  }
  await Promise.allSettled(tasks);
}
