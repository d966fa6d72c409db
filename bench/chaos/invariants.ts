import type { KubernetesObject } from '@kubernetes/client-node';
import { z } from 'zod';
import { collectionPath, Informer } from '../../src/controller/informers.ts';
import type { Kube } from '../../src/kube/client.ts';
import { silentLogger } from '../../src/log.ts';
import { escapeHtml } from '../../src/notify/notifier.ts';
import { RELEASE_ANNOTATION, type ReleaseKind } from './fleet.ts';
import type { ReceivedCall } from './receiver.ts';

// The invariants of issue 16, checked continuously while a scenario runs: watches on the
// namespace's Canaries, VirtualServices, Deployments, Services and ConfigMaps, plus every call
// the recording receiver got. Each broken invariant is one violation with a line saying what
// and where. The checks on one object are pure functions (unit-tested in invariants.test.ts).

export type ViolationKind =
  | 'route-sum'
  | 'route-to-unready'
  | 'weight-after-rollback'
  | 'bad-promoted'
  | 'lost-object'
  | 'repeated-side-effect'
  | 'skipped-step'
  | 'wrong-outcome'
  | 'controller-exit';

export interface Violation {
  kind: ViolationKind;
  at: number;
  what: string;
}

const Destination = z.object({
  destination: z.object({ host: z.string() }),
  weight: z.number().optional(),
});
const VirtualService = z.object({
  metadata: z.object({ name: z.string(), resourceVersion: z.string().optional() }),
  spec: z.object({
    http: z
      .array(z.object({ match: z.array(z.unknown()).optional(), route: z.array(Destination).optional() }))
      .optional(),
  }),
});
export type VirtualServiceObject = z.infer<typeof VirtualService>;

/** Each http route must send 100 % in total (one destination without weight counts as 100). */
export function routeSumViolations(vs: VirtualServiceObject): string[] {
  const problems: string[] = [];
  (vs.spec.http ?? []).forEach((http, i) => {
    const route = http.route ?? [];
    if (route.length === 0) {
      problems.push(`VirtualService ${vs.metadata.name} http[${i}] has no destination`);
      return;
    }
    const total =
      route.length === 1 ? (route[0]?.weight ?? 100) : route.reduce((sum, d) => sum + (d.weight ?? 0), 0);
    if (total !== 100)
      problems.push(`VirtualService ${vs.metadata.name} http[${i}] sends ${total} % in total, not 100 %`);
  });
  return problems;
}

/** Which workloads get traffic: the largest share any http route gives the canary and the primary. */
export function shares(vs: VirtualServiceObject, name: string): { canary: number; primary: number } {
  let canary = 0;
  let primary = 0;
  for (const http of vs.spec.http ?? []) {
    const route = http.route ?? [];
    for (const d of route) {
      const weight = route.length === 1 ? (d.weight ?? 100) : (d.weight ?? 0);
      const host = d.destination.host.split('.')[0];
      if (host === `${name}-canary`) canary = Math.max(canary, weight);
      if (host === `${name}-primary`) primary = Math.max(primary, weight);
    }
  }
  return { canary, primary };
}

/**
 * Side effects that must happen at most once per rollout (a revision's checksum): every event,
 * the pre- and post-rollout hooks. Slack messages must be sent once per round (they carry no
 * checksum, so the caller says which round a message fell in). Counted as a user feels them:
 * a hook call repeated under the same idempotency key is one run for a receiver that keeps
 * keys (Sluice's load tester), and so is an event hook repeated under one key; `raw` counts
 * every call, as a receiver that ignores keys sees them. Slack takes no key: counted as sent
 * (a lost one is counted by skippedChatMessages).
 */
export function repeatedSideEffects(
  calls: readonly ReceivedCall[],
  roundOf: (at: number) => number,
  options: { raw?: boolean } = {},
): string[] {
  const counts = new Map<string, number>();
  const runs = new Set<string>();
  for (const call of calls) {
    let key: string | undefined;
    if (call.kind === 'event')
      key = `event "${call.what}" of ${call.namespace}/${call.name} rev ${call.checksum}`;
    else if (call.kind === 'hook' && (call.what === 'pre-rollout' || call.what === 'post-rollout'))
      key = `${call.what} hook of ${call.namespace}/${call.name} rev ${call.checksum}`;
    else if (call.kind === 'slack') key = `Slack "${call.text ?? ''}" in round ${roundOf(call.at)}`;
    if (!key) continue;
    if (!options.raw && call.key && call.kind !== 'slack') {
      if (runs.has(call.key)) continue;
      runs.add(call.key);
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].filter(([, n]) => n > 1).map(([key, n]) => `${key} happened ${n} times`);
}

/** The announcements Sluice tells chat about (the machine's `say` with a severity) that the fleet's rollouts make. */
export const CHAT_ANNOUNCEMENTS: readonly RegExp[] = [
  /^initialization done$/,
  /^new revision detected, (starting|restarting) canary analysis$/,
  /^promotion completed$/,
  /^rolling back: /,
];

/**
 * Chat messages lost: each announcement that chat must hear (an event hook call whose message
 * `toldChat` accepts; repeats under one idempotency key are one announcement) must have a Slack
 * message naming its canary and message. Counted per canary and message, since Slack carries
 * no key or revision. Only announcements made before `until` are checked: a message is sent
 * after its step's status write and may still be on its way.
 */
export function skippedChatMessages(
  calls: readonly ReceivedCall[],
  toldChat: (message: string) => boolean,
  until = Number.POSITIVE_INFINITY,
): string[] {
  const expected = new Map<string, Set<string>>();
  const said = new Map<string, number>();
  for (const call of calls) {
    if (call.kind === 'event' && call.at < until && toldChat(call.what)) {
      const slackText = `*${escapeHtml(`${call.name}.${call.namespace}`)}*: ${escapeHtml(call.what)}`;
      const keys = expected.get(slackText) ?? new Set<string>();
      keys.add(call.key ?? `${call.at}/${keys.size}`);
      expected.set(slackText, keys);
    } else if (call.kind === 'slack' && call.text !== undefined) {
      said.set(call.text, (said.get(call.text) ?? 0) + 1);
    }
  }
  const skipped: string[] = [];
  for (const [text, keys] of expected) {
    const missing = keys.size - (said.get(text) ?? 0);
    if (missing > 0) skipped.push(`Slack "${text}": ${missing} of ${keys.size} not sent`);
  }
  return skipped;
}

/** The steps a finished rollout announced (its events), against the steps it had to take. */
export function skippedSteps(events: readonly string[], expected: readonly string[]): string[] {
  return expected.filter((step) => !events.includes(step));
}

interface Readiness {
  rv: number;
  ready: number;
}

const rvOf = (object: KubernetesObject) => Number(object.metadata?.resourceVersion ?? '0');

/** What a scenario can wait for, to kill at a chosen moment. */
export type Change =
  | { kind: 'phase'; name: string; phase: string }
  | { kind: 'route'; name: string; canary: number; previous: number };

export interface CanaryView {
  phase: string;
  canaryWeight: number;
  lastAppliedSpec?: string;
  lastPromotedSpec?: string;
  message?: string;
}

const CanaryStatusView = z.object({
  phase: z.string().optional(),
  canaryWeight: z.number().optional(),
  lastAppliedSpec: z.string().optional(),
  lastPromotedSpec: z.string().optional(),
  message: z.string().optional(),
});

/**
 * Watches one namespace and records violations as they happen. `names` are the canaries the
 * scenario created (and whose objects must never disappear); `kinds` says which releases are bad.
 */
export class InvariantChecker {
  readonly violations: Violation[] = [];
  readonly canaries = new Map<string, CanaryView>();
  /** When each canary's status last changed, and to what. */
  readonly history = new Map<string, { at: number; phase: string; weight: number }[]>();
  private readonly readiness = new Map<string, Readiness[]>();
  /** resourceVersion of the status write that said Failed, per canary, while it stays Failed. */
  private readonly failedAt = new Map<string, number>();
  private readonly informers: Informer<KubernetesObject>[] = [];
  private readonly pending: { due: number; run: () => void }[] = [];
  private readonly listeners = new Set<(change: Change) => void>();
  private readonly routeShares = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly namespace: string;
  private readonly kinds: ReadonlyMap<string, ReleaseKind>;
  private readonly onViolation: (v: Violation) => void;

  constructor(
    kube: Kube,
    namespace: string,
    kinds: ReadonlyMap<string, ReleaseKind>,
    onViolation: (v: Violation) => void = () => undefined,
  ) {
    this.namespace = namespace;
    this.kinds = kinds;
    this.onViolation = onViolation;
    const watch = (
      group: string,
      version: string,
      plural: string,
      on: (e: string, o: KubernetesObject) => void,
    ) =>
      this.informers.push(
        new Informer<KubernetesObject>(
          kube,
          collectionPath(group, version, plural, namespace),
          silentLogger,
          on,
        ),
      );
    watch('sluice.dev', 'v1alpha1', 'canaries', (event, object) => this.onCanary(event, object));
    watch('networking.istio.io', 'v1', 'virtualservices', (event, object) => this.onRoute(event, object));
    watch('apps', 'v1', 'deployments', (event, object) => this.onDeployment(event, object));
    watch('', 'v1', 'services', (event, object) => this.onOwned(event, object, 'Service'));
    watch('', 'v1', 'configmaps', (event, object) => this.onOwned(event, object, 'ConfigMap'));
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.start()));
    // Route checks wait a moment for the Deployment watch to deliver what came before them.
    this.timer = setInterval(() => this.flush(Date.now()), 500);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.flush(Number.POSITIVE_INFINITY);
    await Promise.all(this.informers.map((informer) => informer.stop().catch(() => undefined)));
  }

  violate(kind: ViolationKind, what: string): void {
    const violation = { kind, at: Date.now(), what };
    this.violations.push(violation);
    this.onViolation(violation);
  }

  /** Calls `listener` on every phase change and every route write; returns the unsubscribe. */
  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private emit(change: Change): void {
    for (const listener of this.listeners) listener(change);
  }

  count(kind?: ViolationKind): number {
    return kind ? this.violations.filter((v) => v.kind === kind).length : this.violations.length;
  }

  private flush(now: number): void {
    const due = this.pending.filter((p) => p.due <= now);
    for (const p of due) this.pending.splice(this.pending.indexOf(p), 1);
    for (const p of due) p.run();
  }

  private lost(event: string, what: string): void {
    if (event === 'delete' && !this.stopping) this.violate('lost-object', `${what} was deleted`);
  }

  private onCanary(event: string, object: KubernetesObject): void {
    const name = object.metadata?.name ?? '';
    if (!this.kinds.has(name)) return;
    this.lost(event, `Canary ${this.namespace}/${name}`);
    if (event === 'delete') return;
    const parsed = CanaryStatusView.safeParse((object as { status?: unknown }).status ?? {});
    const status = parsed.success ? parsed.data : {};
    const view: CanaryView = {
      phase: status.phase ?? '',
      canaryWeight: status.canaryWeight ?? 0,
      ...(status.lastAppliedSpec ? { lastAppliedSpec: status.lastAppliedSpec } : {}),
      ...(status.lastPromotedSpec ? { lastPromotedSpec: status.lastPromotedSpec } : {}),
      ...(status.message ? { message: status.message } : {}),
    };
    this.canaries.set(name, view);
    const history = this.history.get(name) ?? [];
    const last = history.at(-1);
    if (!last || last.phase !== view.phase || last.weight !== view.canaryWeight)
      history.push({ at: Date.now(), phase: view.phase, weight: view.canaryWeight });
    this.history.set(name, history);
    if (last?.phase !== view.phase) this.emit({ kind: 'phase', name, phase: view.phase });
    if (view.phase === 'Failed') {
      if (!this.failedAt.has(name)) this.failedAt.set(name, rvOf(object));
      if (view.canaryWeight !== 0)
        this.violate(
          'weight-after-rollback',
          `Canary ${name} is Failed with status.canaryWeight ${view.canaryWeight}`,
        );
    } else {
      this.failedAt.delete(name);
    }
  }

  private onRoute(event: string, object: KubernetesObject): void {
    const name = object.metadata?.name ?? '';
    if (!this.kinds.has(name)) return;
    this.lost(event, `VirtualService ${this.namespace}/${name}`);
    if (event === 'delete') return;
    const parsed = VirtualService.safeParse(object);
    if (!parsed.success) {
      this.violate(
        'route-sum',
        `VirtualService ${name} is half-written: ${parsed.error.issues[0]?.message ?? ''}`,
      );
      return;
    }
    for (const problem of routeSumViolations(parsed.data)) this.violate('route-sum', problem);
    const rv = rvOf(object);
    const { canary, primary } = shares(parsed.data, name);
    const previous = this.routeShares.get(name) ?? 0;
    this.routeShares.set(name, canary);
    if (previous !== canary) this.emit({ kind: 'route', name, canary, previous });
    const failedRv = this.failedAt.get(name);
    if (canary > 0 && failedRv !== undefined && rv > failedRv)
      this.violate(
        'weight-after-rollback',
        `VirtualService ${name} sends ${canary} % to the canary after its rollback`,
      );
    this.pending.push({
      due: Date.now() + 3000,
      run: () => {
        for (const [workload, share] of [
          [name, canary],
          [`${name}-primary`, primary],
        ] as const) {
          if (share === 0) continue;
          const ready = this.readyAt(workload, rv);
          if (ready === 0)
            this.violate(
              'route-to-unready',
              `VirtualService ${name} (rv ${rv}) sends ${share} % to ${workload}, which had no ready pod`,
            );
        }
      },
    });
  }

  /** Ready replicas of a Deployment as of a resourceVersion (etcd revisions order all writes). */
  private readyAt(deployment: string, rv: number): number | undefined {
    const series = this.readiness.get(deployment);
    if (!series) return undefined;
    let ready: number | undefined;
    for (const entry of series) if (entry.rv <= rv) ready = entry.ready;
    return ready;
  }

  private onDeployment(event: string, object: KubernetesObject): void {
    const name = object.metadata?.name ?? '';
    const base = name.endsWith('-primary') ? name.slice(0, -'-primary'.length) : name;
    if (!this.kinds.has(base)) return;
    if (name !== base) this.lost(event, `primary Deployment ${this.namespace}/${name}`);
    if (event === 'delete') return;
    const deployment = object as KubernetesObject & {
      status?: { readyReplicas?: number };
      spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
    };
    const series = this.readiness.get(name) ?? [];
    series.push({ rv: rvOf(object), ready: deployment.status?.readyReplicas ?? 0 });
    this.readiness.set(name, series);
    if (name !== base && deployment.spec?.template?.metadata?.annotations?.[RELEASE_ANNOTATION] === 'bad')
      this.violate('bad-promoted', `primary ${name} runs a bad release`);
  }

  private onOwned(event: string, object: KubernetesObject, kind: string): void {
    const name = object.metadata?.name ?? '';
    const owned =
      [...this.kinds.keys()].some((canary) =>
        kind === 'Service'
          ? [canary, `${canary}-primary`, `${canary}-canary`].includes(name)
          : name === `${canary}-config-primary`,
      ) || false;
    if (owned) this.lost(event, `${kind} ${this.namespace}/${name}`);
  }
}
