import { hostname } from 'node:os';
import type { Server } from 'node:http';
import type { KubernetesObject } from '@kubernetes/client-node';
import { HttpMethod } from '../kube/library.ts';
import { KNATIVE_GROUP } from '../api/canary.ts';
import { parseCanary } from '../api/validate.ts';
import { apiErrorMessage, isNotFound, type Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { Notifications } from '../notify/dispatcher.ts';
import type { EventRecorder } from '../notify/events.ts';
import { ChatOutbox, kubeChatStore } from '../notify/outbox.ts';
import type { WebhookDeps } from '../hooks/webhook.ts';
import type { AnalysisDeps } from '../analysis/evaluate.ts';
import { fetchScrapeIntervalMs, scrapeIntervalSource } from '../analysis/scrape-interval.ts';
import { redact } from '../redact.ts';
import { Coalescer } from './coalesce.ts';
import { workloadFingerprint } from './fingerprint.ts';
import { Informer, collectionPath, type InformerEvent } from './informers.ts';
import { LeaderElector } from './leader.ts';
import { createMetrics, registerBatchMetrics, type ControllerMetrics } from './metrics.ts';
import { WorkQueue, type Lane } from './queue.ts';
import type { CacheLookup } from './read-cache.ts';
import { routingCaches } from '../routers/factory.ts';
import { CanaryReconciler, canaryKey, readCanary, type CanaryObject } from './reconciler.ts';
import { TickScheduler } from './scheduler.ts';
import { startHttpServer, type HttpHandler, type Readiness } from './server.ts';
import { preflight } from './startup.ts';
import { ownsCanary, shardSelector } from './shard.ts';

export interface ControllerOptions {
  kube: Kube;
  log: Logger;
  events: EventRecorder;
  notifications: Notifications;
  /** Watch these namespaces only (default: all). */
  namespaces?: string[];
  /**
   * Act only on the Canaries labelled `sluice.dev/shard: <shard>` (undefined: only those
   * without the label). Its metrics carry `shard`; the Lease name is the caller's (shard.ts).
   */
  shard?: string;
  /** How long a Canary relabelled to this shard waits for the old shard's release (default 30 s). */
  handoverWaitMs?: number;
  /** Canaries without spec.provider use this router (Flagger's -mesh-provider). */
  defaultProvider?: string;
  /** Prometheus for built-in metrics when a Canary names none (Flagger's -metrics-server). */
  metricsServer?: string;
  clusterName?: string;
  globalEventWebhook?: string;
  /**
   * Write every routine step of a rollout (weights, iterations, pauses) as a Kubernetes Event
   * too, as Flagger does. Off by default: the status carries each step, and an Event per step
   * is one more API write per canary per step.
   */
  stepEvents?: boolean;
  /** Reconciles of different canaries running at once. */
  concurrency?: number;
  /** Every canary is reconciled this often, events or not, in the queue's background lane (after all other work). */
  resyncMs?: number;
  /** Workload and config events of one canary within this window cost one more reconcile, not one each. */
  coalesceMs?: number;
  leaderElection?: {
    enabled: boolean;
    namespace: string;
    name?: string;
    identity?: string;
    leaseDurationMs?: number;
  };
  /** The HTTP server of /metrics and the probes; `handlers` serve more paths (Slack's callbacks). */
  http?: { port: number; host?: string; handlers?: readonly HttpHandler[] };
  /**
   * Check at start that the API answers, the CRDs are installed and the controller may list
   * what it watches, and fail with one line naming what is wrong (default on). `source` says
   * where the credentials came from, for the message.
   */
  preflight?: { kubeconfigSource: string } | false;
  /**
   * The controller cannot go on for a reason that will not go away (the Lease became
   * forbidden). Default: log it, stop and exit non-zero.
   */
  onFatal?: (error: Error) => void;
  webhookDeps?: WebhookDeps;
  analysis?: Pick<AnalysisDeps, 'createProvider' | 'queryTimeoutMs' | 'batcher'>;
  metrics?: ControllerMetrics;
}

export interface RunningController {
  metrics: ControllerMetrics;
  server: Server | undefined;
  isLeader(): boolean;
  ready(): boolean;
  /** Graceful stop: finish in-flight reconciles and status writes, release the lease. */
  stop(): Promise<void>;
}

/** `podinfo.test`, the way every log line names a canary (as Flagger's do). */
function display(key: string): string {
  const [namespace, name] = key.split('/');
  return `${name}.${namespace}`;
}

/**
 * Which canaries track an object (`namespace/name`), and the other way round, so that
 * re-indexing a canary after each reconcile costs its own entries, not a scan of all.
 */
class TrackIndex {
  private readonly byObject = new Map<string, Set<string>>();
  private readonly byCanary = new Map<string, Set<string>>();

  get(object: string): ReadonlySet<string> | undefined {
    return this.byObject.get(object);
  }

  add(object: string, canary: string): void {
    let canaries = this.byObject.get(object);
    if (!canaries) this.byObject.set(object, (canaries = new Set()));
    canaries.add(canary);
    let objects = this.byCanary.get(canary);
    if (!objects) this.byCanary.set(canary, (objects = new Set()));
    objects.add(object);
  }

  remove(canary: string): void {
    for (const object of this.byCanary.get(canary) ?? []) {
      const canaries = this.byObject.get(object);
      canaries?.delete(canary);
      if (canaries?.size === 0) this.byObject.delete(object);
    }
    this.byCanary.delete(canary);
  }
}

/**
 * The controller: informers feed a work queue; one scheduler fires each canary's next
 * step; reconciles of one canary never overlap; a Lease decides which replica acts.
 */
export async function startController(options: ControllerOptions): Promise<RunningController> {
  const { kube, log } = options;
  const metrics = options.metrics ?? createMetrics();
  if (options.shard !== undefined) metrics.registry.setDefaultLabels({ shard: options.shard });
  const batcher = options.analysis?.batcher;
  if (batcher) registerBatchMetrics(metrics.registry, () => batcher.stats());
  const namespaces = options.namespaces?.length ? options.namespaces : [undefined];
  // Without leader election this replica leads once its informers have synced: a reconcile
  // before then would miss the cache and ask the apiserver for what the lists are bringing.
  let leading = false;
  let stopping = false;

  // What each canary watches, so a Deployment or ConfigMap event wakes the right canaries.
  const workloads = new TrackIndex();
  const configs = new TrackIndex();
  /** generation + metadata a canary was last queued for: status-only updates are skipped. */
  const seen = new Map<string, string>();
  /** Informers by `apiVersion/kind`: targets, primaries and their configs are read from them. */
  const cached = new Map<string, Informer<KubernetesObject>[]>();
  const cacheLookup: CacheLookup = (apiVersion, kind, namespace, name) => {
    for (const informer of cached.get(`${apiVersion}/${kind}`) ?? []) {
      if (!informer.synced || !informer.covers(namespace)) continue;
      const object = informer.get(name, namespace);
      // Items of the initial list carry no apiVersion and kind; watch events do.
      return { cached: true, object: object && { ...object, apiVersion, kind } };
    }
    return { cached: false };
  };
  const addToCache = (apiVersionKind: string, informer: Informer<KubernetesObject>) =>
    cached.set(apiVersionKind, [...(cached.get(apiVersionKind) ?? []), informer]);

  const canaryInformers = namespaces.map(
    (ns) =>
      new Informer<KubernetesObject & CanaryObject>(
        kube,
        collectionPath('sluice.dev', 'v1alpha1', 'canaries', ns),
        log,
        onCanary,
        // Relabelled to another shard, a Canary leaves this informer as a delete: forgotten, never finalized.
        { labelSelector: shardSelector(options.shard) },
      ),
  );
  const getCanary = (namespace: string, name: string): CanaryObject | undefined => {
    for (const informer of canaryInformers) {
      const found = informer.get(name, namespace);
      if (found) return found as CanaryObject;
    }
    return undefined;
  };

  const queue = new WorkQueue(
    async (key) => {
      const started = performance.now();
      try {
        await reconciler.reconcile(key);
      } finally {
        metrics.reconcileDuration.observe((performance.now() - started) / 1000);
        metrics.queueDepth.set(queue.depth);
        metrics.resyncDepth.set(queue.backgroundDepth);
      }
    },
    {
      concurrency: options.concurrency ?? 32,
      onError: (key, error, attempt) => {
        metrics.reconcileErrors.inc();
        log.warn(
          { canary: display(key), attempt, err: error },
          `reconcile failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    },
  );
  const enqueue = (key: string, why = 'requeue', lane: Lane = 'foreground') => {
    if (!leading || stopping) return;
    log.debug({ canary: display(key), why, ...(lane === 'background' ? { lane } : {}) }, 'queued');
    queue.add(key, lane);
  };

  const scheduler = new TickScheduler((key, scheduledAt) => {
    metrics.tickLag.observe(Math.max(0, Date.now() - scheduledAt) / 1000);
    enqueue(key, 'tick');
  });

  // Chat messages owed by a controller that died are sent by the next one (outbox.ts).
  const outbox = new ChatOutbox({
    store: kubeChatStore(kube),
    notifications: options.notifications,
    logger: log,
  });
  const sweepChat = () => {
    void outbox
      .sweep(namespaces, async (canary) => {
        const held = getCanary(canary.namespace, canary.name);
        const object = held ?? (await readCanaryIfAny(kube, canary.namespace, canary.name));
        if (!object || (canary.uid !== undefined && object.metadata.uid !== canary.uid))
          return { held: false, gone: true, why: 'its Canary is gone' };
        // Not in this shard's informer: another shard's leader owes it.
        if (!held) return { held: false, gone: false };
        const parsed = parseCanary(held);
        if (!parsed.ok) return { held: false, gone: true, why: 'its Canary no longer validates' };
        return { held: true, alerts: parsed.canary.spec.analysis.alerts };
      })
      .then((report) => {
        if (report.sent + report.givenUp > 0) log.info(report, 'chat messages owed since a restart handled');
      });
  };

  const reconciler = new CanaryReconciler({
    kube,
    log,
    metrics,
    events: options.events,
    notifications: options.notifications,
    outbox,
    ...(options.globalEventWebhook ? { globalEventWebhook: options.globalEventWebhook } : {}),
    ...(options.stepEvents ? { stepEvents: true } : {}),
    ...(options.clusterName ? { clusterName: options.clusterName } : {}),
    ...(options.metricsServer
      ? { metricsServer: options.metricsServer, scrapeIntervalMs: scrapeInterval(options.metricsServer, log) }
      : {}),
    ...(options.defaultProvider ? { defaultProvider: options.defaultProvider } : {}),
    ...(options.webhookDeps ? { webhookDeps: options.webhookDeps } : {}),
    ...(options.analysis ? { analysis: options.analysis } : {}),
    getCanary,
    owns: (object) => ownsCanary(options.shard, object.metadata.labels),
    holder: options.shard === undefined ? {} : { shard: options.shard },
    ...(options.handoverWaitMs !== undefined ? { handoverWaitMs: options.handoverWaitMs } : {}),
    cache: cacheLookup,
    requeue: enqueue,
    schedule: (key, at) => (at === null ? scheduler.cancel(key) : scheduler.schedule(key, at)),
    onTracked: (key, tracked) => {
      const [namespace] = key.split('/') as [string];
      workloads.remove(key);
      configs.remove(key);
      workloads.add(`${namespace}/${tracked.target}`, key);
      workloads.add(`${namespace}/${tracked.target}-primary`, key);
      for (const config of tracked.configs) configs.add(`${namespace}/${config}`, key);
    },
  });

  function onCanary(event: InformerEvent, object: CanaryObject): void {
    const key = canaryKey(object.metadata.namespace, object.metadata.name);
    if (event === 'delete') {
      seen.delete(key);
      workloads.remove(key);
      configs.remove(key);
      // Deleted or relabelled to another shard: a last reconcile, after any in flight, forgets it
      // and hands it over (reconciler.ts: gone).
      if (leading && !stopping) enqueue(key, 'canary gone');
      else reconciler.forget(key);
      return;
    }
    // Our own status writes come back as updates; only spec, metadata or deletion matter.
    const fingerprint = JSON.stringify([
      object.metadata.generation,
      object.metadata.annotations ?? {},
      object.metadata.deletionTimestamp ?? '',
      object.metadata.finalizers ?? [],
      // The old shard's release of a Canary relabelled here.
      object.status?.heldBy ?? null,
    ]);
    if (event === 'update' && seen.get(key) === fingerprint) return;
    seen.set(key, fingerprint);
    enqueue(key, `canary ${event}`);
  }

  // A scaling Deployment's status changes several times a second: one reconcile at the first
  // event, one more at the end of the burst (see coalesce.ts).
  const wake = new Coalescer(options.coalesceMs ?? 1000, enqueue);
  const workloadSeen = new Map<string, string>();
  const onWorkload = (event: InformerEvent, object: KubernetesObject) => {
    const key = `${object.metadata?.namespace}/${object.metadata?.name}`;
    const objectKey = `${object.kind ?? ''}/${key}`;
    if (event === 'delete') {
      workloadSeen.delete(objectKey);
    } else {
      const fingerprint = workloadFingerprint(object);
      if (event === 'update' && workloadSeen.get(objectKey) === fingerprint) return;
      workloadSeen.set(objectKey, fingerprint);
    }
    for (const canary of workloads.get(key) ?? []) wake.add(canary, `workload ${key}`);
  };
  const onConfig = (kind: string) => (_event: InformerEvent, object: KubernetesObject) => {
    const key = `${object.metadata?.namespace}/${kind}/${object.metadata?.name}`;
    for (const canary of configs.get(key) ?? []) wake.add(canary, `config ${key}`);
  };
  const watched = namespaces.flatMap((ns) => [
    new Informer(kube, collectionPath('apps', 'v1', 'deployments', ns), log, onWorkload),
    new Informer(kube, collectionPath('apps', 'v1', 'daemonsets', ns), log, onWorkload),
    new Informer(kube, collectionPath('', 'v1', 'configmaps', ns), log, onConfig('configmap')),
    new Informer(kube, collectionPath('', 'v1', 'secrets', ns), log, onConfig('secret')),
    new Informer(kube, collectionPath('apps', 'v1', 'statefulsets', ns), log, onWorkload),
  ]);
  const informers = [...canaryInformers, ...watched];
  namespaces.forEach((_, i) => {
    const [deployments, daemonsets, configmaps, secrets, statefulsets] = watched.slice(i * 5, i * 5 + 5);
    for (const [kind, informer] of [
      ['apps/v1/Deployment', deployments],
      ['apps/v1/DaemonSet', daemonsets],
      ['apps/v1/StatefulSet', statefulsets],
      ['v1/ConfigMap', configmaps],
      ['v1/Secret', secrets],
    ] as const) {
      if (informer) addToCache(kind, informer);
    }
  });
  const ready = () => informers.every((informer) => informer.synced);
  let elector: LeaderElector | undefined;
  const readiness = (): Readiness => {
    const waiting = informers.filter((informer) => !informer.synced);
    if (waiting.length) {
      const first = waiting[0]!;
      return {
        ready: false,
        message: `waiting for the first list of ${waiting.map((informer) => informer.resource).join(', ')}${first.lastError ? ` (${first.resource}: ${first.lastError})` : ''}`,
      };
    }
    if (stopping) return { ready: false, message: 'stopping' };
    if (!options.leaderElection?.enabled)
      return { ready: true, message: 'leading (leader election off: --no-leader-elect)' };
    if (!elector) return { ready: false, message: 'starting leader election' };
    const state = elector.state;
    return { ready: state.healthy, message: state.message };
  };

  // The routing objects every step reads (to keep the routes of others in a shared
  // VirtualService, and to catch drift) come from informers too, where the API is installed
  // and the controller may list it. They are not part of readiness: until one has synced,
  // or without it, those reads go to the apiserver.
  const routing: Informer<KubernetesObject>[] = [];
  const startRoutingCaches = async () => {
    for (const { group, version, plural, kind } of routingCaches()) {
      for (const ns of namespaces) {
        const path = collectionPath(group, version, plural, ns);
        try {
          await kube.wire.request(HttpMethod.GET, path, { query: { limit: '1' } });
        } catch (error) {
          log.info(
            { path, reason: apiErrorMessage(error) },
            `${kind}s are read from the apiserver at each step: they cannot be listed`,
          );
          continue;
        }
        // A Knative Service is a knative Canary's target as well as its routing object: its
        // changes wake the canaries that release it, as a Deployment's do.
        const onEvent = group === KNATIVE_GROUP && kind === 'Service' ? onWorkload : () => undefined;
        const informer = new Informer<KubernetesObject>(kube, path, log, onEvent);
        routing.push(informer);
        addToCache(`${group ? `${group}/` : ''}${version}/${kind}`, informer);
        void informer.start();
      }
    }
  };

  const server = options.http
    ? await startHttpServer({
        port: options.http.port,
        host: options.http.host,
        registry: metrics.registry,
        readiness,
        ...(options.http.handlers ? { handlers: options.http.handlers } : {}),
      })
    : undefined;

  try {
    if (options.preflight !== false) {
      await preflight(kube, {
        namespaces,
        kubeconfigSource: options.preflight?.kubeconfigSource ?? 'the controller’s credentials',
      });
    }
  } catch (error) {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    throw error;
  }
  await Promise.all(informers.map((informer) => informer.start()));
  log.info(
    { namespaces: options.namespaces ?? 'all', canaries: shardSelector(options.shard) },
    'informers synced',
  );
  await startRoutingCaches();

  // Every canary: in the foreground at start-up and on winning the lease (status is the
  // truth then), in the background lane for the periodic resync (queue.ts).
  const enqueueAll = (lane: Lane = 'foreground') => {
    for (const informer of canaryInformers) {
      for (const canary of informer.list())
        enqueue(
          canaryKey(canary.metadata.namespace, canary.metadata.name),
          lane === 'background' ? 'resync' : 'start',
          lane,
        );
    }
    metrics.queueDepth.set(queue.depth);
    metrics.resyncDepth.set(queue.backgroundDepth);
  };
  const resync = setInterval(() => enqueueAll('background'), options.resyncMs ?? 5 * 60_000);
  resync.unref();

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(resync);
    scheduler.stop();
    wake.stop();
    await queue.shutdown();
    // Statuses held back (readiness settled, a re-armed tick) are written while this
    // replica still holds the lease.
    if (leading) await reconciler.flush();
    await elector?.stop();
    metrics.leader.set(0);
    await Promise.all([...informers, ...routing].map((informer) => informer.stop()));
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    log.info('controller stopped');
  };

  if (options.leaderElection?.enabled) {
    const election = options.leaderElection;
    elector = new LeaderElector({
      kube,
      namespace: election.namespace,
      name: election.name ?? 'sluice-controller',
      identity: election.identity ?? `${hostname()}-${process.pid}`,
      ...(election.leaseDurationMs
        ? {
            leaseDurationMs: election.leaseDurationMs,
            renewDeadlineMs: Math.round(election.leaseDurationMs * 0.66),
            retryPeriodMs: Math.max(500, Math.round(election.leaseDurationMs / 7)),
          }
        : {}),
      log,
      onStartedLeading: () => {
        leading = true;
        metrics.leader.set(1);
        // Status is the truth now: start every canary from what it says.
        reconciler.reset();
        enqueueAll();
        sweepChat();
      },
      onStoppedLeading: () => {
        leading = false;
        metrics.leader.set(0);
        log.error('stopped leading; exiting so a fresh process campaigns again');
        void stop().finally(() => process.exit(1));
      },
      onFatal: (error) => {
        if (options.onFatal) return options.onFatal(error);
        log.error({ err: error }, error.message);
        void stop().finally(() => process.exit(1));
      },
    });
    try {
      await elector.start();
    } catch (error) {
      await stop();
      throw error;
    }
  } else {
    leading = true;
    metrics.leader.set(1);
    enqueueAll();
    sweepChat();
  }

  return {
    metrics,
    server,
    isLeader: () => leading,
    ready,
    stop,
  };
}

/** A Canary from the apiserver, or undefined when it is gone. */
async function readCanaryIfAny(
  kube: Kube,
  namespace: string,
  name: string,
): Promise<CanaryObject | undefined> {
  try {
    return await readCanary(kube, namespace, name);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Prometheus' scrape interval, read from the metrics server in the background. */
function scrapeInterval(metricsServer: string, log: Logger): () => number | undefined {
  const url = new URL(metricsServer);
  const secrets = [url.username, url.password].filter(Boolean);
  return scrapeIntervalSource({
    fetch: () => fetchScrapeIntervalMs(metricsServer),
    now: Date.now,
    onError: (error) =>
      log.warn(
        `could not read Prometheus' scrape interval from --metrics-server (${redact(String(error instanceof Error ? error.message : error), secrets)}); checkEvery is used as written`,
      ),
  });
}
