import { afterAll, beforeAll } from 'vitest';
import { startController, type ControllerOptions } from '../../src/controller/controller.ts';
import { readCanary, type CanaryObject } from '../../src/controller/reconciler.ts';
import { createLogger } from '../../src/log.ts';
import { Notifications } from '../../src/notify/dispatcher.ts';
import { EventRecorder } from '../../src/notify/events.ts';
import { TrafficExporter, type TrafficMode } from './exporter.ts';
import { useNamespace, type TestNamespace } from './kube.ts';
import { scrape, waitForSeries } from './prometheus.ts';
import {
  applyAsUser,
  canaryEvents,
  canaryObject,
  podinfoDeployment,
  startControllerProcess,
  waitForPhase,
  type PhaseWait,
  type PhaseWanted,
  type PodinfoOptions,
  type SluiceProcess,
} from './sluice.ts';

/**
 * A test file's own namespace (useNamespace) with the helpers the controller's tests use, bound to it: a
 * test says what it applies and waits for, not which namespace and client again and again.
 */
export interface Scene extends TestNamespace {
  /** Applies an object as a person or a GitOps tool does (never as Sluice's field manager). */
  apply<T extends object>(object: T, manager?: string): ReturnType<typeof applyAsUser>;
  /** A podinfo-like Deployment in the namespace. */
  podinfo(options?: Omit<PodinfoOptions, 'namespace'>): ReturnType<typeof podinfoDeployment>;
  /** A Canary object in the namespace (`podinfo` unless named). */
  canary(spec: Record<string, unknown>, name?: string): ReturnType<typeof canaryObject>;
  /** Deploys podinfo at `image`, applies Canary podinfo and waits until it is Initialized. */
  initialize(spec: Record<string, unknown>, image: string): Promise<CanaryObject>;
  /** A new release: podinfo's Deployment at `image`. */
  release(image: string): ReturnType<typeof applyAsUser>;
  /** Waits for the Canary's phase (or a condition on it). */
  phase(phase: PhaseWanted<CanaryObject>, options?: PhaseWait): Promise<CanaryObject>;
  /** The Canary's Events: message → count. */
  events(name?: string): Promise<Map<string, number>>;
  read(name?: string): Promise<CanaryObject>;
  /** `sluice controller` as a process, watching the namespace. */
  startController(
    options?: Omit<Parameters<typeof startControllerProcess>[0], 'namespace'>,
  ): Promise<SluiceProcess>;
}

/** Istio, 25 % steps up to 50 %, judged by request success rate: the rollout the controller tests run. */
export const ROLLOUT_SPEC = {
  provider: 'istio',
  analysis: {
    interval: '10s',
    threshold: 2,
    stepWeight: 25,
    maxWeight: 50,
    metrics: [{ name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } }],
  },
};

export function useScene(prefix: string): Scene {
  const ns = useNamespace(prefix);
  return Object.assign(ns, {
    apply: (object, manager) => applyAsUser(ns.kube, object, manager),
    podinfo: (options = {}) => podinfoDeployment({ namespace: ns.name, ...options }),
    canary: (spec, name) => canaryObject(ns.name, spec, name),
    async initialize(spec, image) {
      await applyAsUser(ns.kube, podinfoDeployment({ namespace: ns.name, image }));
      await applyAsUser(ns.kube, canaryObject(ns.name, spec));
      return waitForPhase(ns.kube, ns.name, 'Initialized');
    },
    release: (image) => applyAsUser(ns.kube, podinfoDeployment({ namespace: ns.name, image })),
    phase: (phase, options) => waitForPhase(ns.kube, ns.name, phase, options),
    events: (name) => canaryEvents(ns.kube, ns.name, name),
    read: (name = 'podinfo') => readCanary(ns.kube, ns.name, name),
    startController: (options = {}) => startControllerProcess({ namespace: ns.name, ...options }),
  } satisfies Omit<Scene, keyof TestNamespace>);
}

/**
 * Sluice's controller in this process, watching the test's namespace, logging at
 * SLUICE_TEST_LOG (default warn), recording Events, with no notifier; `options` add or replace.
 */
export function startTestController(ns: TestNamespace, options: Partial<ControllerOptions> = {}) {
  return startController({
    kube: ns.kube,
    log: createLogger({ level: process.env.SLUICE_TEST_LOG ?? 'warn', name: 'test-controller' }),
    namespaces: [ns.name],
    events: new EventRecorder({ kube: ns.kube }),
    notifications: new Notifications({ resolve: async () => Promise.reject(new Error('none')) }),
    ...options,
  });
}

/**
 * Istio traffic of canary `podinfo` in the test's namespace from an exporter the test drives
 * (`mode` to begin with), scraped by the test Prometheus from before the file's tests (its
 * first series seen) until after them.
 */
export function useScrapedExporter(ns: TestNamespace, mode: TrafficMode): TrafficExporter {
  const exporter = new TrafficExporter({ namespace: ns.name, target: 'podinfo', ingress: 'podinfo' });
  let unscrape: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    exporter.setMode(mode);
    unscrape = await scrape(`127.0.0.1:${await exporter.start()}`, { job: `exporter-${ns.name}` });
    await waitForSeries(`istio_requests_total{destination_workload_namespace="${ns.name}"}`);
  });
  afterAll(async () => {
    await unscrape?.();
    await exporter.stop();
  });
  return exporter;
}
