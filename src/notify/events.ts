import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CoreV1Event } from '@kubernetes/client-node';
import { keyedEventName } from '../hooks/idempotency.ts';
import { apiErrorMessage, isAlreadyExists, isNotFound, type Kube } from '../kube/client.ts';
import { coreResource } from '../kube/wire.ts';
import { silentLogger, type Logger } from '../log.ts';

/** The object an Event is about (the Canary). */
export interface EventSubject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

export interface EventRecorderDeps {
  /** Plain JSON: the generated Events client would load all of client-node's generated APIs. */
  kube: Pick<Kube, 'wire'>;
  now?: () => Date;
  logger?: Logger;
  /** `source.component` / `reportingComponent`, what kubectl shows in the From column. */
  component?: string;
  /** Which controller replica wrote it. */
  instance?: string;
  /** The same type+reason+message within this window counts up one Event instead of adding one. */
  windowMs?: number;
}

/** On Events recorded for a person's action (dashboard, Slack): who it was. */
export const ACTOR_ANNOTATION = 'sluice.dev/actor';

export const DEFAULT_EVENT_WINDOW_MS = 10 * 60_000;
/** The API limit on an Event message is 1 KiB; longer ones are cut. */
const MAX_MESSAGE = 1024;

/**
 * What became of a record: a new Event, a repeat counted on an existing one, an announcement
 * already made (its key's Event exists: made by this process or by one before a restart), or
 * nothing written (logged).
 */
export type RecordOutcome = 'created' | 'counted' | 'exists' | 'failed';

export interface RecordOptions {
  /** Who asked for what the Event tells (a dashboard or Slack user), kept as an annotation. */
  actor?: string;
  annotations?: Record<string, string>;
  /** Labels of the Event (the chat outbox's mark, src/notify/outbox.ts), so it can be listed by selector. */
  labels?: Record<string, string>;
  /**
   * The idempotency key of the announcement (src/hooks/idempotency.ts): the Event is named
   * after it, and a record of a key already made is `exists` and writes nothing.
   */
  key?: string;
}

interface EventMeta {
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

interface Series {
  eventName: string;
  count: number;
  lastSeen: number;
}

/**
 * Records Kubernetes Events (core/v1, the API `kubectl describe` reads) on a canary,
 * deduplicated the way client-go's recorder does: a repeat of the same event within the
 * window patches `count` and `lastTimestamp` of the existing Event. An announcement with an
 * idempotency key is made at most once and has an Event of its own, named after the key, so a
 * controller that repeats it after a restart meets AlreadyExists. Never throws.
 */
export class EventRecorder {
  readonly #deps: EventRecorderDeps;
  readonly #series = new Map<string, Series>();
  /** One write in flight per key, so two repeats never create two Events. */
  readonly #inFlight = new Map<string, Promise<RecordOutcome>>();
  /** Idempotency keys this process recorded, and when (forgotten after the window). */
  readonly #keys = new Map<string, number>();

  constructor(deps: EventRecorderDeps) {
    this.#deps = deps;
  }

  record(
    subject: EventSubject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    options: RecordOptions = {},
  ): Promise<RecordOutcome> {
    const note = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
    const key = [
      subject.namespace,
      subject.kind,
      subject.name,
      subject.uid ?? '',
      type,
      reason,
      note,
      options.actor ?? '',
      JSON.stringify(options.annotations ?? {}),
      JSON.stringify(options.labels ?? {}),
    ].join('\u0000');
    const previous = this.#inFlight.get(key) ?? Promise.resolve();
    const annotations = {
      ...options.annotations,
      ...(options.actor ? { [ACTOR_ANNOTATION]: options.actor } : {}),
    };
    const next = previous.then(() =>
      this.#write(
        key,
        subject,
        type,
        reason,
        note,
        { annotations, labels: options.labels ?? {} },
        options.key,
      ),
    );
    this.#inFlight.set(key, next);
    void next.finally(() => {
      if (this.#inFlight.get(key) === next) this.#inFlight.delete(key);
    });
    return next;
  }

  async #write(
    key: string,
    subject: EventSubject,
    type: string,
    reason: string,
    message: string,
    meta: EventMeta,
    idempotencyKey: string | undefined,
  ): Promise<RecordOutcome> {
    const { kube } = this.#deps;
    const logger = this.#deps.logger ?? silentLogger;
    const now = (this.#deps.now ?? (() => new Date()))();
    const windowMs = this.#deps.windowMs ?? DEFAULT_EVENT_WINDOW_MS;
    this.#forgetOlderThan(now.getTime() - windowMs);
    if (idempotencyKey !== undefined && this.#keys.has(idempotencyKey)) return 'exists';
    const series = this.#series.get(key);
    const made = (outcome: RecordOutcome): RecordOutcome => {
      if (idempotencyKey !== undefined) this.#keys.set(idempotencyKey, now.getTime());
      return outcome;
    };
    try {
      // A keyed announcement gets an Event of its own, never a count on another: its Event is
      // the mark that it was made, which the next controller finds after a restart. Counted on
      // an earlier rollout's Event with the same words, it left no mark, and a controller killed
      // before its status write announced it again ("new revision detected" told chat twice).
      if (idempotencyKey === undefined && series && now.getTime() - series.lastSeen <= windowMs) {
        try {
          await kube.wire.mergePatchResource(coreResource('events', subject.namespace), series.eventName, {
            count: series.count + 1,
            lastTimestamp: now,
          });
          series.count += 1;
          series.lastSeen = now.getTime();
          return made('counted');
        } catch (error) {
          // The Event expired (the apiserver keeps them an hour by default): start a new one.
          if (!isNotFound(error)) throw error;
        }
      }
      const eventName =
        idempotencyKey !== undefined
          ? keyedEventName(subject.name, idempotencyKey)
          : `${subject.name}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`;
      try {
        await kube.wire.createResource(
          coreResource('events', subject.namespace),
          this.#event(eventName, subject, type, reason, message, now, meta),
        );
      } catch (error) {
        // The announcement's Event exists: a controller before a restart made it.
        if (idempotencyKey !== undefined && isAlreadyExists(error)) return made('exists');
        throw error;
      }
      this.#series.set(key, { eventName, count: 1, lastSeen: now.getTime() });
      return made('created');
    } catch (error) {
      logger.warn(
        {
          object: `${subject.kind} ${subject.namespace}/${subject.name}`,
          reason,
          error: apiErrorMessage(error),
        },
        'kubernetes event not recorded',
      );
      return 'failed';
    }
  }

  #event(
    name: string,
    subject: EventSubject,
    type: string,
    reason: string,
    message: string,
    now: Date,
    { annotations, labels }: EventMeta,
  ): CoreV1Event {
    const component = this.#deps.component ?? 'sluice';
    const instance = this.#deps.instance ?? hostname();
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name,
        namespace: subject.namespace,
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        ...(Object.keys(labels).length > 0 ? { labels } : {}),
      },
      involvedObject: {
        apiVersion: subject.apiVersion,
        kind: subject.kind,
        name: subject.name,
        namespace: subject.namespace,
        ...(subject.uid ? { uid: subject.uid } : {}),
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component, host: instance },
      reportingComponent: component,
      reportingInstance: instance,
    };
  }

  #forgetOlderThan(cutoff: number): void {
    for (const [key, series] of this.#series) {
      if (series.lastSeen < cutoff) this.#series.delete(key);
    }
    for (const [key, at] of this.#keys) {
      if (at < cutoff) this.#keys.delete(key);
    }
  }
}
