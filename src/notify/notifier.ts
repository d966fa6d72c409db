import { z } from 'zod';

// One interface, one file per provider (slack.ts, msteams.ts, discord.ts,
// googlechat.ts, generic.ts), factory.ts to pick one: Flagger's pkg/notifier shape.

export const SEVERITIES = ['info', 'warn', 'error'] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof severitySchema>;

/** What a person reading Slack needs to know about one moment of a canary run. */
export interface Notification {
  canary: { name: string; namespace: string };
  /** The canary's status phase when it happened (Progressing, Failed, …). */
  phase: string;
  severity: Severity;
  /** One line, e.g. "advance 20%", "halt: request-success-rate 93.1% < 99%". */
  message: string;
  fields: NotificationFields;
}

/** The fields a message shows beside its line (also read back from a chat Event's annotation). */
export const notificationFieldsSchema = z.object({
  /** Canary traffic weight in percent. */
  weight: z.number().optional(),
  failedChecks: z.number().optional(),
  /** The failed-checks threshold, shown as "2/5" next to failedChecks. */
  threshold: z.number().optional(),
  /** The target workload, e.g. "Deployment/podinfo.test". */
  target: z.string().optional(),
  /** The cluster name from the controller's --cluster-name. */
  cluster: z.string().optional(),
  /** The release's dora.metrics/deployment-id and commit-sha annotations. */
  deploymentId: z.string().optional(),
  commitSha: z.string().optional(),
});
export type NotificationFields = z.infer<typeof notificationFieldsSchema>;

/** What the chat outbox adds to a post (src/notify/outbox.ts). */
export interface PostContext {
  /** The key its Event holds the message under, carried in the message where the provider can. */
  key: string;
}

export interface Notifier {
  /** The provider's name for logs (never its URL: URLs are secrets). */
  readonly name: string;
  /** Posts one message; rejects with a NotifyError when the provider does not accept it. */
  post(notification: Notification, context?: PostContext): Promise<void>;
  /**
   * Optional: whether a message posted with `key` since `since` (ms) is in the chat. Only a
   * notifier that can ask its provider has it (Slack's Web API mode); the outbox asks before
   * posting a message it found pending, so a replay after a kill does not repeat it.
   */
  findPosted?(key: string, since: number): Promise<boolean>;
}

/** `name.namespace`, the way Flagger and its users name a canary in messages. */
export function canaryTitle(notification: Pick<Notification, 'canary'>): string {
  return `${notification.canary.name}.${notification.canary.namespace}`;
}

/** A one-line text form: "podinfo.test: advance 20%". */
export function headline(notification: Notification): string {
  return `${canaryTitle(notification)}: ${notification.message}`;
}

/** The fields in display order, with human labels; absent fields are left out. */
export function displayFields(notification: Notification): Array<{ title: string; value: string }> {
  const { fields, phase } = notification;
  const out: Array<{ title: string; value: string }> = [];
  if (fields.target) out.push({ title: 'Target', value: fields.target });
  if (phase) out.push({ title: 'Phase', value: phase });
  if (fields.weight !== undefined) out.push({ title: 'Canary weight', value: `${fields.weight}%` });
  if (fields.failedChecks !== undefined) {
    const of = fields.threshold !== undefined ? `/${fields.threshold}` : '';
    out.push({ title: 'Failed checks', value: `${fields.failedChecks}${of}` });
  }
  if (fields.cluster) out.push({ title: 'Cluster', value: fields.cluster });
  if (fields.deploymentId) out.push({ title: 'Deployment', value: fields.deploymentId });
  if (fields.commitSha) out.push({ title: 'Commit', value: fields.commitSha });
  return out;
}

/** The colour of each severity, as RGB hex without '#'. */
export const SEVERITY_COLOURS: Record<Severity, string> = {
  info: '2eb886',
  warn: 'daa038',
  error: 'a30200',
};

const RANK: Record<Severity, number> = { info: 0, warn: 1, error: 2 };

/**
 * Severity filtering, in one place: an alert set to `info` gets everything, `warn`
 * gets warn and error, `error` gets only error (Flagger's rule).
 */
export function severityAllows(alertSeverity: Severity | undefined, messageSeverity: Severity): boolean {
  return RANK[messageSeverity] >= RANK[alertSeverity ?? 'info'];
}

/** &, < and > escaped, for chat formats that read a small HTML subset (Slack mrkdwn, Google Chat). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
