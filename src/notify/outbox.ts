import { z } from 'zod';
import { apiErrorMessage, isNotFound, type Kube } from '../kube/client.ts';
import { coreResource } from '../kube/wire.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { DispatchReport, Notifications } from './dispatcher.ts';
import { DEFAULT_EVENT_WINDOW_MS } from './events.ts';
import { notificationFieldsSchema, severitySchema, type Notification } from './notifier.ts';
import type { CanaryAlert } from './providers.ts';

// The chat outbox (docs/decisions/0026-side-effects-once.md): an announcement that chat must
// hear is recorded as a keyed Event labelled `sluice.dev/chat: pending`, carrying what the
// message needs besides the Event's own words. Whoever sends it marks it `sent` (or `failed`
// when every provider refused it); a controller that takes over lists what is still pending
// and sends it. Chat takes no idempotency key, so a kill between the post and the mark's patch
// could repeat one message: where the notifier can look up what it posted (Slack's Web API,
// findPosted), a message found pending is looked for first and only marked sent when it is
// there (exactly once); elsewhere it is posted again (at least once).

/** The label that says where an announcement's chat message stands. */
export const CHAT_LABEL = 'sluice.dev/chat';
/** The annotation with what the chat message needs that the Event does not say (JSON, no secrets). */
export const CHAT_ANNOTATION = 'sluice.dev/chat-notification';

/**
 * `pending`: to be sent; `sent`: delivered to at least one provider; `failed`: every provider
 * refused it (after the notifier's own retries); `given-up`: found pending too late, or its
 * Canary is gone, and never sent.
 */
export type ChatMark = 'pending' | 'sent' | 'failed' | 'given-up';

/** An Event message longer than this is cut (events.ts); the full message then rides in the annotation. */
const MAX_EVENT_MESSAGE = 1024;

const ChatNote = z.object({
  severity: severitySchema,
  phase: z.string(),
  fields: notificationFieldsSchema,
  message: z.string().optional(),
});

/** The label and annotation a keyed Event carries when its chat message is still to be sent. */
export function pendingChat(notification: Notification): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  const note: z.input<typeof ChatNote> = {
    severity: notification.severity,
    phase: notification.phase,
    fields: notification.fields,
    ...(notification.message.length > MAX_EVENT_MESSAGE ? { message: notification.message } : {}),
  };
  return { labels: { [CHAT_LABEL]: 'pending' }, annotations: { [CHAT_ANNOTATION]: JSON.stringify(note) } };
}

/** An Event by namespace and name. */
export interface EventRef {
  namespace: string;
  name: string;
}

/** A pending chat message as a takeover finds it. */
export interface PendingChat {
  event: EventRef;
  canary: { namespace: string; name: string; uid?: string };
  /** When the Event was created (ms). */
  createdAt: number;
  /** The message to send, or why it cannot be read back. */
  notification: Notification | { unreadable: string };
}

/** An Event's mark and when the Event was created (ms). */
export interface ChatRecord {
  mark: ChatMark;
  createdAt: number;
}

/** The key a message is posted under (in Slack's message metadata): its Event's namespace/name. */
export function chatKey(event: EventRef): string {
  return `${event.namespace}/${event.name}`;
}

/** Where chat marks are kept: the Events (kubeChatStore), or a fake in unit tests. */
export interface ChatStore {
  /** The Event's mark, or undefined when the Event is gone or has none. */
  mark(event: EventRef): Promise<ChatRecord | undefined>;
  setMark(event: EventRef, mark: ChatMark): Promise<void>;
  /** Pending chat Events on Canaries, in one namespace or (undefined) all. */
  listPending(namespace: string | undefined): Promise<PendingChat[]>;
}

const CoreEvent = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    creationTimestamp: z.union([z.string(), z.date()]).optional(),
  }),
  involvedObject: z.object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
  }),
  message: z.string().optional(),
  firstTimestamp: z.union([z.string(), z.date()]).optional(),
});

/** What a chat mark's read needs of an Event. */
const MarkedEvent = CoreEvent.pick({ metadata: true, firstTimestamp: true });

const MARKS = new Set<string>(['pending', 'sent', 'failed', 'given-up']);

function readPending(raw: unknown): PendingChat | undefined {
  const parsed = CoreEvent.safeParse(raw);
  if (!parsed.success) return undefined;
  const { metadata, involvedObject } = parsed.data;
  if (involvedObject.kind !== 'Canary' || !involvedObject.name) return undefined;
  const canary = {
    namespace: involvedObject.namespace ?? metadata.namespace,
    name: involvedObject.name,
    ...(involvedObject.uid ? { uid: involvedObject.uid } : {}),
  };
  const createdAt = createdAtOf(parsed.data);
  const annotation = metadata.annotations?.[CHAT_ANNOTATION];
  let notification: PendingChat['notification'];
  const note = annotation === undefined ? undefined : ChatNote.safeParse(safeJson(annotation));
  if (!note?.success) {
    notification = { unreadable: `annotation ${CHAT_ANNOTATION} is missing or not the expected JSON` };
  } else {
    notification = {
      canary: { name: canary.name, namespace: canary.namespace },
      phase: note.data.phase,
      severity: note.data.severity,
      message: note.data.message ?? parsed.data.message ?? '',
      fields: Object.fromEntries(Object.entries(note.data.fields).filter(([, v]) => v !== undefined)),
    };
  }
  return { event: { namespace: metadata.namespace, name: metadata.name }, canary, createdAt, notification };
}

/** When an Event was created (ms), 0 when it does not say. */
function createdAtOf(event: {
  firstTimestamp?: string | Date | undefined;
  metadata?: { creationTimestamp?: string | Date | undefined } | undefined;
}): number {
  const created = event.firstTimestamp ?? event.metadata?.creationTimestamp;
  return created === undefined ? 0 : new Date(created).getTime();
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Chat marks on the Events themselves: a get, a merge patch of the label, a list by label
 * selector. Plain JSON: the generated Events client would load all of client-node's
 * generated APIs (src/kube/library.ts).
 */
export function kubeChatStore(kube: Pick<Kube, 'wire'>): ChatStore {
  return {
    async mark(event) {
      try {
        const found = MarkedEvent.parse(
          await kube.wire.readResource(coreResource('events', event.namespace), event.name),
        );
        const mark = found.metadata?.labels?.[CHAT_LABEL];
        if (mark === undefined || !MARKS.has(mark)) return undefined;
        return { mark: mark as ChatMark, createdAt: createdAtOf(found) };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async setMark(event, mark) {
      await kube.wire.mergePatchResource(coreResource('events', event.namespace), event.name, {
        metadata: { labels: { [CHAT_LABEL]: mark } },
      });
    },
    async listPending(namespace) {
      const labelSelector = `${CHAT_LABEL}=pending`;
      const items = await kube.wire.listObjects('v1', 'Event', namespace, labelSelector);
      return items.map(readPending).filter((p): p is PendingChat => p !== undefined);
    },
  };
}

/** What a takeover knows of a pending message's Canary. */
export type CanaryHolding =
  /** This replica holds it: send to its alerts. */
  | { held: true; alerts: readonly CanaryAlert[] | undefined }
  /** Another shard holds it: leave the message to that shard's leader. */
  | { held: false; gone: false }
  /** Deleted (or deleted and created again under a new uid), or its spec no longer parses. */
  | { held: false; gone: true; why: string };

export interface ChatOutboxDeps {
  store: ChatStore;
  notifications: Pick<Notifications, 'notify' | 'hasTargets'>;
  logger?: Logger;
  now?: () => number;
  /** A pending message older than this is given up at a takeover, not sent late (default: the Event window, 10 min). */
  maxAgeMs?: number;
}

export interface SweepReport {
  sent: number;
  givenUp: number;
  /** Held by another shard, or already being sent by this process. */
  left: number;
}

/**
 * Sends announcements' chat messages and keeps their marks. Within one process a message is
 * sent at most once (in flight or sent, it is not picked up again); across processes the mark
 * tells the next one whether it is still owed. Never throws.
 */
export class ChatOutbox {
  readonly #deps: ChatOutboxDeps;
  /** Events whose message this process is sending or has sent (forgotten after maxAge). */
  readonly #owned = new Map<string, number>();

  constructor(deps: ChatOutboxDeps) {
    this.#deps = deps;
  }

  get #now(): number {
    return (this.#deps.now ?? Date.now)();
  }

  get #maxAgeMs(): number {
    return this.#deps.maxAgeMs ?? DEFAULT_EVENT_WINDOW_MS;
  }

  #claim(event: EventRef): boolean {
    const now = this.#now;
    for (const [key, at] of this.#owned) if (now - at > this.#maxAgeMs) this.#owned.delete(key);
    const key = `${event.namespace}/${event.name}`;
    if (this.#owned.has(key)) return false;
    this.#owned.set(key, now);
    return true;
  }

  /** Whether the message goes to any provider: only then does its Event hold it pending. */
  wouldSend(alerts: readonly CanaryAlert[] | undefined, notification: Notification): boolean {
    return this.#deps.notifications.hasTargets(alerts, notification);
  }

  /**
   * Sends the message of an announcement whose Event `event` this process just created with
   * the pending mark, or (`resume`) that an earlier process created: then only when its mark
   * still says pending. Undefined when nothing was sent (owned here already, or not pending).
   */
  async deliver(
    event: EventRef,
    alerts: readonly CanaryAlert[] | undefined,
    notification: Notification,
    options: { resume?: boolean } = {},
  ): Promise<DispatchReport | undefined> {
    const logger = this.#deps.logger ?? silentLogger;
    if (!this.#claim(event)) return undefined;
    if (options.resume) {
      let record: ChatRecord | undefined;
      try {
        record = await this.#deps.store.mark(event);
      } catch (error) {
        // Unknown: leave it pending for the next takeover rather than risk a second message.
        logger.warn(
          { event: event.name, error: apiErrorMessage(error) },
          'chat mark unreadable; not sent now',
        );
        this.#owned.delete(`${event.namespace}/${event.name}`);
        return undefined;
      }
      if (record?.mark !== 'pending') return undefined;
      logger.info(
        { event: event.name, message: notification.message },
        'chat message owed since a restart: sending it',
      );
      // It may have been posted just before the kill: a notifier that can look, looks first.
      return this.#send(event, alerts, notification, record.createdAt);
    }
    return this.#send(event, alerts, notification);
  }

  /** `postedSince`: the message was found pending and may be posted already (its Event's creation). */
  async #send(
    event: EventRef,
    alerts: readonly CanaryAlert[] | undefined,
    notification: Notification,
    postedSince?: number,
  ): Promise<DispatchReport> {
    const report = await this.#deps.notifications.notify(alerts, notification, {
      key: chatKey(event),
      ...(postedSince !== undefined ? { postedSince } : {}),
    });
    if (report.found?.length) {
      (this.#deps.logger ?? silentLogger).info(
        { event: event.name, found: report.found },
        'chat message found already posted; marked sent, not posted again',
      );
    }
    const mark: ChatMark = report.sent.length === 0 && report.failed.length > 0 ? 'failed' : 'sent';
    await this.#mark(event, mark);
    return report;
  }

  async #mark(event: EventRef, mark: ChatMark): Promise<void> {
    try {
      await this.#deps.store.setMark(event, mark);
    } catch (error) {
      // The Event stays pending: a takeover may send it once more (the repeat window).
      (this.#deps.logger ?? silentLogger).warn(
        { event: event.name, mark, error: apiErrorMessage(error) },
        'chat mark not written',
      );
    }
  }

  /**
   * At a takeover (start-up, a won election): every pending message of a Canary this replica
   * holds is sent, unless this process owns it already; one too old, or whose Canary is gone,
   * is marked given-up. One list per watched namespace (undefined: all).
   */
  async sweep(
    namespaces: readonly (string | undefined)[],
    holding: (canary: PendingChat['canary']) => Promise<CanaryHolding>,
  ): Promise<SweepReport> {
    const logger = this.#deps.logger ?? silentLogger;
    const report: SweepReport = { sent: 0, givenUp: 0, left: 0 };
    const found: PendingChat[] = [];
    for (const namespace of namespaces) {
      try {
        found.push(...(await this.#deps.store.listPending(namespace)));
      } catch (error) {
        logger.warn(
          { namespace: namespace ?? 'all', error: apiErrorMessage(error) },
          'pending chat messages not listed; they wait for the next takeover',
        );
      }
    }
    const sends: Promise<unknown>[] = [];
    for (const pending of found) {
      const where = `${pending.canary.namespace}/${pending.canary.name}`;
      let holder: CanaryHolding;
      try {
        holder = await holding(pending.canary);
      } catch (error) {
        logger.warn(
          { canary: where, error: apiErrorMessage(error) },
          'pending chat message left: canary unreadable',
        );
        report.left += 1;
        continue;
      }
      if (!holder.held && !holder.gone) {
        report.left += 1;
        continue;
      }
      if (!this.#claim(pending.event)) {
        report.left += 1;
        continue;
      }
      const age = this.#now - pending.createdAt;
      const tooLate =
        age > this.#maxAgeMs
          ? `${Math.round(age / 1000)}s old, more than the ${this.#maxAgeMs / 1000}s a late message is still sent`
          : undefined;
      const unreadable = 'unreadable' in pending.notification ? pending.notification.unreadable : undefined;
      if (
        !holder.held ||
        unreadable !== undefined ||
        tooLate !== undefined ||
        'unreadable' in pending.notification
      ) {
        const why = holder.held ? (unreadable ?? tooLate) : holder.why;
        logger.warn({ canary: where, event: pending.event.name, why }, 'pending chat message given up');
        report.givenUp += 1;
        sends.push(this.#mark(pending.event, 'given-up'));
        continue;
      }
      logger.info(
        { canary: where, event: pending.event.name, message: pending.notification.message },
        'chat message owed since a restart: sending it',
      );
      report.sent += 1;
      sends.push(this.#send(pending.event, holder.alerts, pending.notification, pending.createdAt));
    }
    await Promise.all(sends);
    return report;
  }
}
