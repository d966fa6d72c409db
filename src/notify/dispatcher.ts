import { silentLogger, type Logger } from '../log.ts';
import type { Kube } from '../kube/client.ts';
import type { NotifierDeps } from './config.ts';
import { createNotifier } from './factory.ts';
import { NotifyError } from './http.ts';
import { severityAllows, type Notification, type Notifier } from './notifier.ts';
import { AlertProviderError, getAlertProvider, resolveAlertProvider, type CanaryAlert } from './providers.ts';

/** Turns an alert's provider reference into a notifier; throws when it cannot. */
export type ResolveNotifier = (ref: { name: string; namespace: string }) => Promise<Notifier>;

export interface NotificationsDeps {
  resolve: ResolveNotifier;
  /** Notifiers from the controller's --slack-url/--msteams-url flags or environment. */
  global?: readonly Notifier[];
  logger?: Logger;
  /** A ceiling for one post, retries included, so a stuck provider never holds a caller. */
  deadlineMs?: number;
}

export interface DispatchReport {
  /** Delivered: posted now, or found already posted (`found`). */
  sent: string[];
  /** Providers that had the message already (a replay after a kill), so it was not posted again. */
  found?: string[];
  /** `refused`: --allowed-url-hosts refused the provider's URL (field and host, never the URL). */
  failed: Array<{ provider: string; error: string; refused?: { field: string; host: string } }>;
}

export const DEFAULT_NOTIFY_DEADLINE_MS = 15_000;

/** How the chat outbox hands a message over (src/notify/outbox.ts). */
export interface Delivery {
  /** The key its Event holds it under: carried in the message where the provider can. */
  key: string;
  /**
   * Set when the message may have been posted already (its Event was found pending): the
   * creation time of its Event (ms). A notifier that can look (findPosted) is asked first.
   */
  postedSince?: number;
}

/** The default resolver: AlertProvider from the API, URL and token from its Secret. */
export function kubeNotifierResolver(kube: Pick<Kube, 'wire'>, deps: NotifierDeps = {}): ResolveNotifier {
  return async (ref) => {
    const provider = await getAlertProvider(kube, ref);
    const resolved = await resolveAlertProvider(kube, provider, ref.namespace);
    if (resolved.proxy) {
      throw new AlertProviderError(
        `${resolved.config.name}: spec.proxy is not supported yet; remove it to send directly`,
      );
    }
    return createNotifier(resolved.type, resolved.config, deps);
  };
}

/**
 * Posts, unless the message may be there already and the notifier finds it (exactly once
 * where the provider can be asked; at least once where it cannot). True when found.
 */
async function post(notifier: Notifier, notification: Notification, delivery: Delivery | undefined) {
  if (delivery?.postedSince !== undefined && notifier.findPosted) {
    if (await notifier.findPosted(delivery.key, delivery.postedSince)) return true;
  }
  await notifier.post(notification, delivery ? { key: delivery.key } : undefined);
  return false;
}

class DeadlineError extends Error {}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`no answer within ${ms}ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Fans a notification out to the canary's alerts (each filtered by its severity) or,
 * when the canary has none, to the global notifiers: the alerts section overrides the
 * global setting, as in Flagger. Never throws; failures are logged by provider name.
 */
export class Notifications {
  readonly #deps: NotificationsDeps;

  constructor(deps: NotificationsDeps) {
    this.#deps = deps;
  }

  async notify(
    alerts: readonly CanaryAlert[] | undefined,
    notification: Notification,
    delivery?: Delivery,
  ): Promise<DispatchReport> {
    const logger = this.#deps.logger ?? silentLogger;
    const deadlineMs = this.#deps.deadlineMs ?? DEFAULT_NOTIFY_DEADLINE_MS;
    const canary = `${notification.canary.name}.${notification.canary.namespace}`;
    const report: DispatchReport = { sent: [], failed: [] };
    const targets = this.#targets(alerts, notification);

    await Promise.all(
      targets.map(async (target) => {
        try {
          const found = await withDeadline(
            target.notifier().then((notifier) => post(notifier, notification, delivery)),
            deadlineMs,
          );
          report.sent.push(target.label);
          if (found) (report.found ??= []).push(target.label);
        } catch (error) {
          // NotifyError and AlertProviderError messages never carry URLs or tokens.
          const message = error instanceof Error ? error.message : String(error);
          const refused = error instanceof NotifyError ? error.refused : undefined;
          report.failed.push({
            provider: target.label,
            error: message,
            ...(refused ? { refused: { field: refused.field, host: refused.host } } : {}),
          });
          logger.warn({ canary, provider: target.label, error: message }, 'notification not delivered');
        }
      }),
    );
    return report;
  }

  /** Whether a notification of this severity goes anywhere (an alert that takes it, or a global notifier). */
  hasTargets(
    alerts: readonly CanaryAlert[] | undefined,
    notification: Pick<Notification, 'canary' | 'severity'>,
  ): boolean {
    return this.#targets(alerts, notification).length > 0;
  }

  #targets(
    alerts: readonly CanaryAlert[] | undefined,
    notification: Pick<Notification, 'canary' | 'severity'>,
  ): Array<{ label: string; notifier: () => Promise<Notifier> }> {
    const targets: Array<{ label: string; notifier: () => Promise<Notifier> }> = [];
    if (alerts && alerts.length > 0) {
      for (const alert of alerts) {
        if (!severityAllows(alert.severity, notification.severity)) continue;
        const ref = {
          name: alert.providerRef.name,
          namespace: alert.providerRef.namespace || notification.canary.namespace,
        };
        targets.push({
          label: `alert ${alert.name} (provider ${ref.namespace}/${ref.name})`,
          notifier: () => this.#deps.resolve(ref),
        });
      }
    } else {
      for (const notifier of this.#deps.global ?? []) {
        targets.push({ label: notifier.name, notifier: async () => notifier });
      }
    }
    return targets;
  }
}
