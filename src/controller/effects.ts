import type { Canary } from '../api/canary.ts';
import { releaseAnnotations, type Release } from '../api/release.ts';
import type { CanaryStatus } from '../api/status.ts';
import type { ValidationIssue } from '../api/validate.ts';
import { lastAnalysisEntry, type AnalysisDeps } from '../analysis/evaluate.ts';
import { kubeLookups } from '../analysis/kube.ts';
import { canaryContext } from '../analysis/types.ts';
import { effectKey, keyedEventName } from '../hooks/idempotency.ts';
import type { CanaryWebhook } from '../hooks/types.ts';
import {
  alertMuted,
  canaryChecksum,
  DEFAULT_EVENT_WEBHOOK_TIMEOUT_MS,
  eventWebhooks,
  runWebhooks,
  sendEventWebhooks,
  webhookTimeoutMs,
  type WebhookDeps,
} from '../hooks/webhook.ts';
import type { Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { Effect, Observation } from '../machine/types.ts';
import type { Notifications } from '../notify/dispatcher.ts';
import type { EventRecorder, EventSubject, RecordOutcome } from '../notify/events.ts';
import type { Notification, Severity } from '../notify/notifier.ts';
import { pendingChat, type ChatOutbox, type EventRef } from '../notify/outbox.ts';
import { RoutesNotFoundError, type Router } from '../routers/router.ts';
import type { Target } from '../targets/target.ts';
import { analyseLook, analyseRound, type JudgeMemory, type Judging } from './judging.ts';
import type { ControllerMetrics } from './metrics.ts';
import { URL_NOT_ALLOWED_REASON } from './refusals.ts';

/** What carrying out one canary's effects needs; built per reconcile. */
export interface EffectContext {
  canary: Canary;
  subject: EventSubject;
  target: Target;
  router: Router;
  /** Runs router.reconcile once per spec generation before the first route change. */
  ensureRouting(): Promise<void>;
  trackedConfigs: Record<string, string>;
  /** The revision under analysis now (it changes within a reconcile when a new one starts). */
  lastAppliedSpec(): string | undefined;
  /** The DORA annotations of the revision under analysis (deployment id, commit sha). */
  release?: Release | undefined;
  phase: string;
  weight: number;
  failedChecks: number;
  /** The judge's state between looks (analysis.judge). */
  judge: JudgeMemory;
  /** The effects of the current round, in order: a recordEvent looks for the notify that follows it. */
  effects?: readonly Effect[];
  /**
   * This reconcile's announcements by message: how its Event was recorded, and (when the Event
   * is the chat message's outbox) which Event and what message.
   */
  announced?: Map<string, Promise<Announced>>;
  /**
   * This reconcile's Events and event hooks, each bounded by its hook's timeout: awaited
   * (announcementsMade) before the status write that records their step as done.
   */
  announcing?: Promise<unknown>[];
}

/** How an announcement's Event was recorded; `event`: it carries its chat message, pending. */
export interface Announced {
  outcome: RecordOutcome | 'not recorded';
  event?: EventRef;
  notification?: Notification;
}

/** `promise`, or nothing after `ms`: what it does goes on, no one waits for it longer. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until this reconcile's announcements are made: each Event created and each event hook
 * answered (or timed out), for at most the slowest hook's per-attempt timeout. A status write
 * after this cannot get ahead of them: a controller killed in between repeats them under the
 * same key (receivers drop the repeat) instead of skipping them. Retries go on in the background.
 */
export async function announcementsMade(ctx: EffectContext): Promise<void> {
  const pending = ctx.announcing?.splice(0) ?? [];
  if (pending.length > 0) await Promise.all(pending);
}

/** The chat message of an announcement: what it says, and where the canary stands. */
function notificationOf(
  ctx: EffectContext,
  deps: EffectDeps,
  severity: Severity,
  message: string,
): Notification {
  const { canary } = ctx;
  return {
    canary: { name: canary.metadata.name, namespace: ctx.subject.namespace },
    phase: ctx.phase,
    severity,
    message,
    fields: {
      weight: ctx.weight,
      failedChecks: ctx.failedChecks,
      threshold: canary.spec.analysis.threshold,
      target: `${canary.spec.targetRef.kind}/${canary.spec.targetRef.name}.${ctx.subject.namespace}`,
      ...(deps.clusterName ? { cluster: deps.clusterName } : {}),
      ...(ctx.release?.deploymentId ? { deploymentId: ctx.release.deploymentId } : {}),
      ...(ctx.release?.commitSha ? { commitSha: ctx.release.commitSha } : {}),
    },
  };
}

/** The unmuted chat message queued after an announcement's Event (the machine's `say`), if any. */
function chatFollowing(
  ctx: EffectContext,
  effect: Extract<Effect, { kind: 'recordEvent' }>,
): Extract<Effect, { kind: 'notify' }> | undefined {
  for (const next of ctx.effects ?? []) {
    if (next.kind === 'notify' && next.id > effect.id && next.message === effect.message)
      return next.muted ? undefined : next;
  }
  return undefined;
}

/**
 * The idempotency key of an effect (src/hooks/idempotency.ts); none for a Canary without a
 * uid (never from the apiserver), whose effects then carry no key.
 */
function keyOf(ctx: EffectContext, effect: Effect, checksum: string, ...what: string[]): string | undefined {
  const uid = ctx.subject.uid;
  return uid ? effectKey({ uid, checksum, effectId: effect.id }, effect.kind, ...what) : undefined;
}

export interface EffectDeps {
  kube: Kube;
  log: Logger;
  metrics: ControllerMetrics;
  events: Pick<EventRecorder, 'record'>;
  notifications: Pick<Notifications, 'notify'>;
  /**
   * Keeps each announcement's chat message pending on its keyed Event until sent, so a
   * controller after a kill sends what was owed (src/notify/outbox.ts). Without it, chat is
   * told by whoever created the Event.
   */
  outbox?: Pick<ChatOutbox, 'deliver' | 'wouldSend'>;
  globalEventWebhook?: string;
  /** Routine steps become Kubernetes Events too (ControllerOptions.stepEvents). */
  stepEvents?: boolean;
  clusterName?: string;
  metricsServer?: string;
  webhookDeps?: WebhookDeps;
  analysis?: Pick<AnalysisDeps, 'createProvider' | 'queryTimeoutMs' | 'batcher'>;
  signal?: AbortSignal;
}

/** Effects that finish within the reconcile; the others answer later (webhooks, analysis, looks). */
export function isAsync(effect: Effect): boolean {
  return effect.kind === 'runWebhooks' || effect.kind === 'runAnalysis' || effect.kind === 'runLook';
}

/**
 * Carries out one synchronous effect. Returns the EFFECT_DONE observation, or undefined
 * when the effect must stay pending (a promote for a revision the target no longer has).
 */
export async function runSyncEffect(
  effect: Effect,
  ctx: EffectContext,
  deps: EffectDeps,
  now: () => number,
): Promise<Observation | undefined> {
  const { canary } = ctx;
  const done: Observation = { type: 'EFFECT_DONE', now: 0, effectId: effect.id };
  switch (effect.kind) {
    case 'setRoutes': {
      await ctx.ensureRouting();
      const routes = {
        primaryWeight: effect.primaryWeight,
        canaryWeight: effect.canaryWeight,
        mirror: effect.mirror,
        match: effect.match,
        ...(canary.spec.analysis.mirrorWeight !== undefined
          ? { mirrorWeight: canary.spec.analysis.mirrorWeight }
          : {}),
      };
      try {
        await ctx.router.setRoutes(canary, routes);
      } catch (error) {
        if (!(error instanceof RoutesNotFoundError)) throw error;
        // Someone deleted the routing object: recreate it, then set the weights.
        await ctx.router.reconcile(canary);
        await ctx.router.setRoutes(canary, routes);
      }
      deps.metrics.apiWrites.inc({ write: 'routes' });
      break;
    }
    case 'scaleCanary': {
      const result = await ctx.target.scaleCanary(canary, effect.to);
      if (result.written) deps.metrics.apiWrites.inc({ write: 'scale' });
      break;
    }
    case 'promote': {
      const result = await ctx.target.promote(canary, { revision: effect.revision });
      if (result.writes > 0) deps.metrics.apiWrites.inc({ write: 'promote' }, result.writes);
      if (!result.applied) {
        deps.log.info(
          { revision: effect.revision, now: result.revision.revision },
          'promotion waits: the target moved on',
        );
        return undefined;
      }
      break;
    }
    case 'recordEvent': {
      // The revision too, as for every other hook: receivers tell one revision's events from another's.
      const checksum = canaryChecksum({
        trackedConfigs: ctx.trackedConfigs,
        lastAppliedSpec: ctx.lastAppliedSpec(),
      });
      const key = keyOf(ctx, effect, checksum, effect.reason, effect.message);
      const hookContext = {
        name: canary.metadata.name,
        namespace: ctx.subject.namespace,
        phase: ctx.phase,
        checksum,
        metadata: releaseAnnotations(ctx.release),
        ...(key ? { idempotencyKey: key } : {}),
      };
      const event = { message: effect.message, type: effect.type, timestamp: now() };
      let fresh: Promise<Announced> = Promise.resolve({ outcome: 'not recorded' });
      if (!effect.step || deps.stepEvents) {
        // Its chat message rides on the keyed Event, pending until sent (the outbox).
        const chat = chatFollowing(ctx, effect);
        const told = chat && key ? notificationOf(ctx, deps, chat.severity, effect.message) : undefined;
        const outboxed =
          told && deps.outbox?.wouldSend(canary.spec.analysis.alerts, told) ? pendingChat(told) : undefined;
        const annotations = { ...releaseAnnotations(ctx.release), ...outboxed?.annotations };
        // Made once across a restart: the Event is named after the key, and one that exists
        // already means the announcement was made before the restart.
        fresh = deps.events
          .record(ctx.subject, effect.type, effect.reason, effect.message, {
            ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
            ...(outboxed ? { labels: outboxed.labels } : {}),
            ...(key ? { key } : {}),
          })
          .then((outcome) => ({
            outcome,
            ...(outboxed && told && key
              ? {
                  event: { namespace: ctx.subject.namespace, name: keyedEventName(ctx.subject.name, key) },
                  notification: told,
                }
              : {}),
          }));
        deps.metrics.apiWrites.inc({ write: 'event' });
      }
      (ctx.announced ??= new Map()).set(effect.message, fresh);
      // Event hooks go out at once, with the key: waiting for the Event would lose them when the
      // controller dies in between (the next one finds the Event); a receiver drops a repeat by key.
      const hooks = (canary.spec.analysis.webhooks ?? []) as CanaryWebhook[];
      const sending = sendEventWebhooks(
        hooks,
        deps.globalEventWebhook,
        hookContext,
        event,
        deps.webhookDeps,
      ).catch((error: unknown) => deps.log.warn({ err: error }, 'event webhook failed'));
      // The status write waits for both, bounded: a hook that hangs costs a reconcile one timeout.
      const hookMs = Math.max(0, ...eventWebhooks(hooks, deps.globalEventWebhook).map(webhookTimeoutMs));
      (ctx.announcing ??= []).push(within(fresh, DEFAULT_EVENT_WEBHOOK_TIMEOUT_MS), within(sending, hookMs));
      break;
    }
    case 'notify': {
      // A webhook with muteAlert failed: its Event is recorded (recordEvent), chat is not told.
      if (effect.muted) {
        deps.log.info({ message: effect.message }, 'alert muted by the webhook (muteAlert)');
        break;
      }
      const alerts = canary.spec.analysis.alerts;
      // Its Event (queued just before it) tells whether this was announced before a restart, and
      // whether the Event holds the message pending (then the outbox sends it and marks it sent).
      const announced =
        ctx.announced?.get(effect.message) ?? Promise.resolve<Announced>({ outcome: 'not recorded' });
      void announced
        .then(async ({ outcome, event, notification }) => {
          let report;
          if (event && notification && deps.outbox && (outcome === 'created' || outcome === 'exists')) {
            // After a restart the outbox sends it only when its mark still says pending.
            report = await deps.outbox.deliver(event, alerts, notification, { resume: outcome === 'exists' });
          } else if (outcome === 'exists') {
            deps.log.info({ message: effect.message }, 'announced before a restart; chat not told again');
            return;
          } else {
            report = await deps.notifications.notify(
              alerts,
              notification ?? notificationOf(ctx, deps, effect.severity, effect.message),
            );
          }
          if (!report) return;
          // --allowed-url-hosts refused an alert provider's URL: a person must see it.
          for (const failed of report.failed) {
            if (!failed.refused) continue;
            void deps.events.record(
              ctx.subject,
              'Warning',
              URL_NOT_ALLOWED_REASON,
              `alert ${failed.provider} was not sent: --allowed-url-hosts does not allow host ${failed.refused.host} (${failed.refused.field})`,
            );
          }
        })
        .catch((error: unknown) => deps.log.warn({ err: error }, 'notification failed'));
      break;
    }
    default:
      throw new Error(`effect ${effect.kind} is not synchronous`);
  }
  return { ...done, now: now() };
}

export interface AsyncAnswer {
  observation: Observation;
  /** What the answer adds to the Canary's status (an analysis: status.lastAnalysis). */
  status?: Partial<CanaryStatus>;
  /** The answer can never change: the Canary is Stalled with this issue (a gate whose URL is refused). */
  issue?: ValidationIssue;
}

/** Starts a webhook run or an analysis; the promise never rejects. */
export async function runAsyncEffect(
  effect: Effect,
  ctx: EffectContext,
  deps: EffectDeps,
  now: () => number,
): Promise<AsyncAnswer> {
  const { canary } = ctx;
  if (effect.kind === 'runWebhooks') {
    try {
      const checksum = canaryChecksum({
        trackedConfigs: ctx.trackedConfigs,
        lastAppliedSpec: effect.revision,
      });
      // A hook in flight at a kill or a leader change is called again under the same key.
      const key = keyOf(ctx, effect, checksum, effect.type);
      const run = await runWebhooks(
        (canary.spec.analysis.webhooks ?? []) as CanaryWebhook[],
        effect.type,
        {
          name: canary.metadata.name,
          namespace: ctx.subject.namespace,
          phase: effect.phase,
          checksum,
          metadata: releaseAnnotations(ctx.release),
          ...(key ? { idempotencyKey: key } : {}),
        },
        deps.webhookDeps,
      );
      // Each call as a routine step (--step-events): the dashboard's timeline shows gates
      // open or closed. Same answers count up one Event (see EventRecorder).
      if (deps.stepEvents) {
        for (const r of run.results) {
          const gate = effect.type.startsWith('confirm-')
            ? r.passed
              ? ' (gate open)'
              : ' (gate closed)'
            : '';
          void deps.events.record(
            ctx.subject,
            'Normal',
            'WebhookCalled',
            `${effect.type} webhook ${r.name}${gate}: ${r.message}`,
          );
        }
      }
      // --allowed-url-hosts refused a hook (its redirect, since the URLs themselves are checked
      // before a rollout starts): a Warning Event each, and a gate that can never open stalls.
      const refused = run.results.filter((r) => r.refused);
      for (const r of refused) {
        void deps.events.record(
          ctx.subject,
          'Warning',
          URL_NOT_ALLOWED_REASON,
          `${effect.type} webhook ${r.name}: ${r.message}`,
        );
      }
      const gateRefused = effect.type.startsWith('confirm-') ? refused[0] : undefined;
      // A rollback hook asks for a rollback by answering 2xx: any one of them is enough.
      const passed = effect.type === 'rollback' ? run.results.some((r) => r.passed) : run.passed;
      const failing = run.results.filter((r) => !r.passed);
      const named = effect.type === 'rollback' ? run.results.find((r) => r.passed) : failing[0];
      const message =
        effect.type === 'rollback'
          ? passed
            ? `${named?.name ?? 'rollback hook'} answered ${named?.status ?? '2xx'}`
            : ''
          : failing.map((r) => `${r.name}: ${r.message}`).join('; ');
      return {
        observation: {
          type: 'WEBHOOK_RESULT',
          now: now(),
          effectId: effect.id,
          passed,
          ...(named ? { name: named.name } : {}),
          ...(message ? { message } : {}),
          ...(alertMuted(run) ? { muteAlert: true } : {}),
        },
        ...(gateRefused
          ? {
              issue: {
                path: gateRefused.refused?.field ?? 'spec.analysis.webhooks',
                message: `the ${effect.type} gate ${gateRefused.name} can never open: ${gateRefused.message}`,
                reason: URL_NOT_ALLOWED_REASON,
              },
            }
          : {}),
      };
    } catch (error) {
      return {
        observation: {
          type: 'WEBHOOK_RESULT',
          now: now(),
          effectId: effect.id,
          passed: false,
          message: error instanceof Error ? error.message : String(error),
        },
      };
    }
  }
  if (effect.kind === 'runAnalysis' || effect.kind === 'runLook') {
    const started = now();
    const labels = { name: canary.metadata.name, namespace: ctx.subject.namespace };
    const context = canaryContext(canary);
    if (!context.metricsServer && deps.metricsServer) context.metricsServer = deps.metricsServer;
    const statefulSet = await ctx.target.statefulSetArms?.(canary);
    if (statefulSet) context.statefulSet = statefulSet;
    const job: Judging = {
      canary,
      revision: effect.revision,
      memory: ctx.judge,
      analysis: {
        canary: context,
        ...kubeLookups(deps.kube),
        ...deps.analysis,
        ...(deps.signal ? { signal: deps.signal } : {}),
        now,
        logger: deps.log,
      },
      metrics: deps.metrics,
      labels,
      now,
    };
    if (effect.kind === 'runLook') return look(effect.id, job, deps);
    try {
      const round = await analyseRound(job);
      deps.metrics.analysisDuration.observe(labels, (now() - started) / 1000);
      return {
        observation: {
          type: 'ANALYSIS_RESULT',
          now: now(),
          effectId: effect.id,
          outcome: round.outcome,
          ...(round.reasons.length ? { reasons: round.reasons } : {}),
          ...(round.rollback ? { rollback: round.rollback } : {}),
        },
        status: {
          lastAnalysis: round.checks.map(lastAnalysisEntry),
          ...(round.judge ? { judge: round.judge } : {}),
        },
      };
    } catch (error) {
      return {
        observation: {
          type: 'ANALYSIS_RESULT',
          now: now(),
          effectId: effect.id,
          outcome: 'failed',
          reasons: [`analysis could not run: ${error instanceof Error ? error.message : String(error)}`],
        },
      };
    }
  }
  throw new Error(`effect ${effect.kind} is not asynchronous`);
}

/** A look between rounds; an error waits for the next round, where it counts. */
async function look(effectId: number, job: Judging, deps: EffectDeps): Promise<AsyncAnswer> {
  try {
    const found = await analyseLook(job);
    if (!found.rollback) return { observation: { type: 'LOOK_RESULT', now: job.now(), effectId } };
    return {
      observation: { type: 'LOOK_RESULT', now: job.now(), effectId, rollback: found.rollback },
      status: {
        ...(found.checks.length ? { lastAnalysis: found.checks.map(lastAnalysisEntry) } : {}),
        ...(found.judge ? { judge: found.judge } : {}),
      },
    };
  } catch (error) {
    deps.log.warn({ err: error }, 'fast-fail look could not run; the next round checks again');
    return { observation: { type: 'LOOK_RESULT', now: job.now(), effectId } };
  }
}
