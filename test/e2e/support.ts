// Shared pieces of the end-to-end scenarios: one app stack per file (the local runtime
// with its traffic proxies, the controller, the load tester and a Slack stand-in, each a
// real process as in `sluice demo`), the demo app's manifests, and a recorder that follows
// a canary's status and the real traffic the load generator saw at each moment.

import { afterAll, beforeAll, expect } from 'vitest';
import { z } from 'zod';
import type { ClusterEnv } from '../../src/dev/cluster.ts';
import {
  startDemoLoad,
  type DemoLoad,
  type DemoLoadOptions,
  type LoadCounts,
} from '../../src/dev/loadgen.ts';
import { startAppStack, type AppStack, type AppStackOptions } from '../../src/dev/stack.ts';
import { loadKubeConfig, type Kube } from '../../src/kube/client.ts';
import { CanaryStatus, type AnalysisResult } from '../../src/api/status.ts';
import { readCanary, type CanaryObject } from '../../src/controller/reconciler.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace, type TestNamespace } from '../support/kube.ts';
import {
  applyAsUser,
  canaryEvents,
  phaseCondition,
  waitForPhase,
  type PhaseWait,
  type PhaseWanted,
} from '../support/sluice.ts';

export const APP = 'podinfo';
export const IMAGE = 'ghcr.io/sluice-dev/demo-app';

/** The harness environment in the shape `startAppStack` takes. */
export function clusterEnv(): ClusterEnv {
  const env = testEnv();
  return {
    stateDir: env.stateDir,
    kubeconfig: env.kubeconfig,
    apiserverUrl: loadKubeConfig(env.kubeconfig).getCurrentCluster()?.server ?? '',
    prometheusUrl: env.prometheusUrl,
    prometheusTargetsDir: env.prometheusTargetsDir,
  };
}

/** Starts the stack for one namespace, with the Slack stand-in as the controller's global Slack. */
export function startStack(
  namespace: string,
  options: Omit<AppStackOptions, 'env' | 'namespace'>,
): Promise<AppStack> {
  return startAppStack({ env: clusterEnv(), namespace, slack: true, ...options });
}

type EnvVar =
  | { name: string; value: string }
  | { name: string; valueFrom: { configMapKeyRef: { name: string; key: string } } };

export interface DeploymentOptions {
  /** Plain env values (VERSION comes from the image tag unless set here). */
  env?: Record<string, string>;
  /** Extra env entries, e.g. configMapKeyRef. */
  envRefs?: EnvVar[];
  /** ConfigMaps read whole through envFrom. */
  envFromConfigMaps?: string[];
}

/** The demo app's Deployment as a team would commit it (no replicas: Sluice owns scaling). */
export function demoDeployment(namespace: string, version: string, options: DeploymentOptions = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: APP, namespace, labels: { app: APP } },
    spec: {
      selector: { matchLabels: { app: APP } },
      template: {
        metadata: { labels: { app: APP, 'demo.sluice.dev/app': 'true' } },
        spec: {
          containers: [
            {
              name: APP,
              image: `${IMAGE}:${version}`,
              ports: [{ name: 'http', containerPort: 9898 }],
              ...(options.envFromConfigMaps
                ? { envFrom: options.envFromConfigMaps.map((name) => ({ configMapRef: { name } })) }
                : {}),
              env: [
                ...Object.entries(options.env ?? {}).map(([name, value]) => ({ name, value })),
                ...(options.envRefs ?? []),
              ],
            },
          ],
        },
      },
    },
  };
}

/** A Canary for the demo app; `spec` is merged over the target and service defaults. */
export function demoCanary(namespace: string, spec: Record<string, unknown>) {
  const { service, ...rest } = spec as { service?: Record<string, unknown> };
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: APP, namespace },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: APP },
      progressDeadlineSeconds: 60,
      service: { port: 9898, ...service },
      ...rest,
    },
  };
}

export const apply = applyAsUser;

/**
 * The app at 1.0.0 and its Istio Canary (interval 10s, threshold 2, then `analysis`), then
 * real traffic through the stack's first proxy.
 */
export async function deployIstioApp(stack: AppStack, analysis: Record<string, unknown>): Promise<DemoLoad> {
  await apply(stack.kube, demoDeployment(stack.namespace, '1.0.0'));
  await apply(
    stack.kube,
    demoCanary(stack.namespace, {
      provider: 'istio',
      analysis: { interval: '10s', threshold: 2, ...analysis },
    }),
  );
  return load(stack.runtime.proxies[0]!.url);
}

// The status schema keeps unknown fields; `message` is one the controller writes.
const Status = CanaryStatus.extend({ message: z.string().optional() });

/** A Canary as read from the apiserver, its status checked against the API's schema. */
export type Canary = Omit<CanaryObject, 'status'> & { status?: z.output<typeof Status> };

export function typed(canary: CanaryObject): Canary {
  const { status, ...rest } = canary;
  return status ? { ...rest, status: Status.parse(status) } : rest;
}

/** waitForPhase with the typed status (the last phase and message in the error on timeout). */
export async function waitForCanary(
  kube: Kube,
  namespace: string,
  phase: PhaseWanted<Canary>,
  options: PhaseWait = {},
): Promise<Canary> {
  const matches = phaseCondition(phase);
  return typed(await waitForPhase(kube, namespace, (c) => matches(typed(c)), options));
}

/** Constant real traffic through a proxy of the traffic layer. */
export function load(url: string, options: Omit<DemoLoadOptions, 'url'> = {}): DemoLoad {
  // 12 rps per scenario: enough for rates over 20 s windows, modest on two shared cores.
  return startDemoLoad({ url: `${url}/`, rps: 12, ...options });
}

export interface Sample {
  at: number;
  phase: string | undefined;
  canaryWeight: number;
  message: string;
  /** The load generators' counts at this moment, by generator name. */
  traffic: Record<string, LoadCounts>;
  /** What the recorder's probe said at this moment (e.g. the apex Service's selector). */
  probe?: string;
}

/**
 * Follows a canary's status (every 250 ms) and snapshots the load generators' counts at
 * each poll, so a test can say which share of real traffic reached the canary while the
 * status said a given thing.
 */
export class Recorder {
  readonly samples: Sample[] = [];
  private readonly kube: Kube;
  private readonly namespace: string;
  private readonly loads: Record<string, DemoLoad>;
  private readonly probe: (() => Promise<string>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(kube: Kube, namespace: string, loads: Record<string, DemoLoad>, probe?: () => Promise<string>) {
    this.kube = kube;
    this.namespace = namespace;
    this.loads = loads;
    this.probe = probe;
  }

  start(): this {
    this.timer = setInterval(() => void this.poll(), 250);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Resolves once a sample taken after this call is recorded (the status seen by then). */
  async catchUp(): Promise<void> {
    const started = Date.now();
    await eventually(
      'a status sample of the recorder',
      async () => (this.samples.at(-1)?.at ?? 0) > started,
      {
        timeoutMs: 10_000,
        intervalMs: 50,
      },
    );
  }

  /** Forgets what was recorded so far (between two releases in one file). */
  reset(): void {
    this.samples.length = 0;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    // Stamped before the read, so a sample stamped after a moment saw the status after it.
    const at = Date.now();
    try {
      const [object, probe] = await Promise.all([readCanary(this.kube, this.namespace, APP), this.probe?.()]);
      const canary = typed(object);
      const traffic = Object.fromEntries(Object.entries(this.loads).map(([name, l]) => [name, l.counts()]));
      this.samples.push({
        at,
        phase: canary.status?.phase,
        canaryWeight: canary.status?.canaryWeight ?? 0,
        message: canary.status?.message ?? '',
        traffic,
        ...(probe !== undefined ? { probe } : {}),
      });
    } catch {
      // A transient apiserver error: the next poll tries again.
    } finally {
      this.polling = false;
    }
  }

  /** The phases seen, consecutive repeats collapsed. */
  phases(): string[] {
    return collapse(this.samples.map((s) => s.phase ?? 'Pending'));
  }

  /** What the probe said, consecutive repeats collapsed. */
  probes(): string[] {
    return collapse(this.samples.flatMap((s) => (s.probe === undefined ? [] : [s.probe])));
  }

  /** The canary weights seen, consecutive repeats collapsed. */
  weights(): number[] {
    return collapse(this.samples.map((s) => s.canaryWeight));
  }

  /**
   * Requests a load generator sent between the first and the last sample that matched,
   * by the workload that answered. Throws when no two samples matched.
   */
  trafficWhile(loadName: string, matches: (sample: Sample) => boolean): Record<string, number> {
    const matching = this.samples.filter(matches);
    const first = matching[0]?.traffic[loadName];
    const last = matching.at(-1)?.traffic[loadName];
    if (!first || !last || matching.length < 2)
      throw new Error(`no two status samples matched (phases seen: ${this.phases().join(' → ')})`);
    const out: Record<string, number> = {};
    for (const [workload, count] of Object.entries(last.byWorkload)) {
      const diff = count - (first.byWorkload[workload] ?? 0);
      if (diff > 0) out[workload] = diff;
    }
    return out;
  }
}

function collapse<T>(values: T[]): T[] {
  return values.filter((value, i) => i === 0 || value !== values[i - 1]);
}

/** Asserts `expected` appears in `seen` in this order (other entries may sit between). */
export function expectInOrder<T>(seen: T[], expected: T[]): void {
  let at = 0;
  for (const value of seen) if (value === expected[at]) at += 1;
  expect(at, `expected ${JSON.stringify(expected)} in order within ${JSON.stringify(seen)}`).toBe(
    expected.length,
  );
}

/**
 * Share (0–1) of the answered requests that the canary's workload answered. Requests no
 * process answered (`none`: e.g. 503 while a Service had no ready endpoint yet) are left out.
 */
export function canaryShare(byWorkload: Record<string, number>): number {
  const total = Object.entries(byWorkload)
    .filter(([workload]) => workload !== 'none')
    .reduce((sum, [, n]) => sum + n, 0);
  return total === 0 ? 0 : (byWorkload[APP] ?? 0) / total;
}

/** Waits for the first bootstrap and for the primary to answer real traffic. */
export async function waitForBootstrap(stack: AppStack, traffic: DemoLoad): Promise<Canary> {
  const initialized = await waitForCanary(stack.kube, stack.namespace, 'Initialized', { timeoutMs: 90_000 });
  const before = traffic.counts().byWorkload[`${APP}-primary`] ?? 0;
  await eventually(
    `the primary ${APP}-primary answering requests through the proxy`,
    async () => (traffic.counts().byWorkload[`${APP}-primary`] ?? 0) > before + 5,
    { timeoutMs: 30_000 },
  );
  return initialized;
}

/**
 * Waits for the outcome (Succeeded or Failed) of the release after `previous`; on timeout
 * the error says where the controller's log is.
 */
export async function waitForOutcome(
  stack: AppStack,
  previous: Canary,
  timeoutMs = 120_000,
): Promise<Canary> {
  try {
    return await waitForCanary(
      stack.kube,
      stack.namespace,
      (c) =>
        c.status?.lastAppliedSpec !== previous.status?.lastAppliedSpec &&
        (c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed'),
      { timeoutMs },
    );
  } catch (error) {
    const events = await eventMessages(stack.kube, stack.namespace).catch(() => []);
    throw new Error(
      `${(error as Error).message}\nevents: ${events.join(' | ')}\nlogs: ${stack.logDir}/controller.log`,
      { cause: error },
    );
  }
}

export interface PrimaryContainer {
  image: string;
  env: Record<string, string>;
  envFrom: string[];
}

export async function primaryContainer(kube: Kube, namespace: string): Promise<PrimaryContainer> {
  const primary = await kube.apps.readNamespacedDeployment({ name: `${APP}-primary`, namespace });
  const container = primary.spec?.template.spec?.containers[0];
  return {
    image: container?.image ?? '',
    env: Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? ''])),
    envFrom: (container?.envFrom ?? []).map((e) => e.configMapRef?.name ?? e.secretRef?.name ?? ''),
  };
}

/** The target Deployment's replicas (0 when Sluice scaled the idle canary down). */
export async function targetReplicas(kube: Kube, namespace: string, name = APP): Promise<number | undefined> {
  const target = await kube.apps.readNamespacedDeployment({ name, namespace });
  return target.spec?.replicas;
}

/** Destination → weight of the VirtualService's last (default) route. */
export async function virtualServiceWeights(kube: Kube, namespace: string): Promise<Record<string, number>> {
  const vs = (await kube.wire.getObject({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: APP, namespace },
  })) as { spec: { http: { route: { destination: { host: string }; weight?: number }[] }[] } };
  return Object.fromEntries(vs.spec.http.at(-1)!.route.map((r) => [r.destination.host, r.weight ?? 100]));
}

interface HTTPRouteRule {
  matches?: { headers?: { name: string; value: string }[] }[];
  backendRefs?: { name: string; weight?: number }[];
}

/** The HTTPRoute's rules as [header matches, backend → weight]. */
export async function httpRouteRules(
  kube: Kube,
  namespace: string,
): Promise<{ headers: string[]; weights: Record<string, number> }[]> {
  const route = (await kube.wire.getObject({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: APP, namespace },
  })) as { spec: { rules: HTTPRouteRule[] } };
  return route.spec.rules.map((rule) => ({
    headers: (rule.matches ?? []).flatMap((m) => (m.headers ?? []).map((h) => `${h.name}=${h.value}`)),
    weights: Object.fromEntries((rule.backendRefs ?? []).map((b) => [b.name, b.weight ?? 1])),
  }));
}

/** The apex Service's selector as `label=value`. */
export async function apexSelector(kube: Kube, namespace: string): Promise<string> {
  const service = await kube.core.readNamespacedService({ name: APP, namespace });
  return Object.entries(service.spec?.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Slack messages received so far, as plain lines ("podinfo.ns: promotion completed"). */
export function slackLines(stack: AppStack): string[] {
  return (stack.slack?.messages ?? []).map((m) => m.text);
}

/** Event messages on the canary (deduplicated Events counted up). */
export async function eventMessages(kube: Kube, namespace: string): Promise<string[]> {
  return [...(await canaryEvents(kube, namespace, APP)).keys()];
}

/** Waits until an Event with a message matching `pattern` is recorded on the canary. */
export function waitForEvent(kube: Kube, namespace: string, pattern: RegExp, timeoutMs = 30_000) {
  return eventually(
    `an Event matching ${pattern} on canary ${namespace}/${APP}`,
    async () => (await eventMessages(kube, namespace)).find((m) => pattern.test(m)),
    { timeoutMs },
  );
}

/** What a demo-app process of a workload answers at `/` (version, message, hostname). */
export async function answersOf(
  stack: AppStack,
  workload: string,
): Promise<{ version: string; message: string; hostname: string }[]> {
  const processes = stack.runtime.registry.readyOf(stack.namespace, workload);
  return Promise.all(
    processes.map(async (p) => {
      const response = await fetch(`${p.url}/`, { signal: AbortSignal.timeout(5000) });
      return (await response.json()) as { version: string; message: string; hostname: string };
    }),
  );
}

/**
 * A counter or gauge from the controller's /metrics, summed over the series whose labels
 * include `labels` (0 when there is none).
 */
export async function controllerMetric(
  stack: AppStack,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stack.controller.port}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => wanted.every((pair) => line.includes(pair)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

/** Waits until every ready process of the primary answers as `version` (its pods rolled). */
export function waitForPrimaryVersion(stack: AppStack, version: string) {
  return eventually(
    `every ${APP}-primary process answering as version ${version}`,
    async () => {
      const answers = await answersOf(stack, `${APP}-primary`);
      return answers.length > 0 && answers.every((a) => a.version === version);
    },
    { timeoutMs: 30_000 },
  );
}

/** A readable summary for assertion messages and failure logs. */
export function describeCounts(counts: LoadCounts): string {
  return JSON.stringify({ total: counts.total, byStatus: counts.byStatus, byWorkload: counts.byWorkload });
}

// ---- One scenario: its stack, the demo app, its Canary, real traffic, a recorder ----

/** The built-in success rate over 20 s, at least 99 %. */
export const SUCCESS_RATE = { name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } };
/** The built-in p99 over 20 s, at most 500 ms. */
export const DURATION = { name: 'request-duration', interval: '20s', thresholdRange: { max: 500 } };

export interface ScenarioOptions {
  /** The traffic layer's proxies, given the namespace (default: one for the apex Service). */
  proxies?: (namespace: string) => AppStackOptions['proxies'];
  loadtester?: boolean;
  /** The Canary's spec over demoCanary's defaults (the stack is up: its URLs may be used). */
  canary: (stack: AppStack) => Record<string, unknown>;
  /** The first release, 1.0.0, with these options. */
  deployment?: DeploymentOptions;
  /** Runs before the Deployment is applied (e.g. the ConfigMap it reads). */
  prepare?: (ns: TestNamespace) => Promise<unknown>;
  /** Load generators by name, each through a proxy (default: `main`, through the first). */
  loads?: Record<string, { proxy?: number } & Omit<DemoLoadOptions, 'url'>>;
  /** What the recorder also notes at each sample (e.g. the apex Service's selector). */
  probe?: (ns: TestNamespace) => Promise<string>;
}

/**
 * One end-to-end scenario of a test file: its namespace and app stack, the demo app with a
 * Canary, real traffic, a recorder — set up before the file's tests, stopped after them —
 * and what its tests do and check, said once for all of them.
 */
export class Scenario {
  readonly ns: TestNamespace;
  /** The load generators by name; the first one is the one the bootstrap waits on. */
  readonly loads: Record<string, DemoLoad> = {};
  stack!: AppStack;
  recorder!: Recorder;

  constructor(ns: TestNamespace) {
    this.ns = ns;
  }

  /** The first load generator (`main` unless named otherwise). */
  get main(): DemoLoad {
    return Object.values(this.loads)[0]!;
  }

  /** Applies the demo app's Deployment at `version` (a new revision). */
  deploy(version: string, options?: DeploymentOptions) {
    return apply(this.ns.kube, demoDeployment(this.ns.name, version, options));
  }

  /** Waits for the bootstrap and for real traffic on the primary; the recorder starts afresh. */
  async bootstrapped(): Promise<Canary> {
    const initialized = await waitForBootstrap(this.stack, this.main);
    this.recorder.reset();
    return initialized;
  }

  /** Waits for the outcome of the release after `previous` and for the recorder to have seen it. */
  async outcome(previous: Canary, timeoutMs?: number): Promise<Canary> {
    const done = await waitForOutcome(this.stack, previous, timeoutMs);
    await this.recorder.catchUp();
    return done;
  }

  waitFor(phase: string | ((canary: Canary) => boolean), options: { timeoutMs?: number } = {}) {
    return waitForCanary(this.ns.kube, this.ns.name, phase, options);
  }

  primary(): Promise<PrimaryContainer> {
    return primaryContainer(this.ns.kube, this.ns.name);
  }

  targetReplicas(): Promise<number | undefined> {
    return targetReplicas(this.ns.kube, this.ns.name);
  }

  events(): Promise<string[]> {
    return eventMessages(this.ns.kube, this.ns.name);
  }

  /** The VirtualService sends everything to the primary. */
  async expectIstioOnPrimary(): Promise<void> {
    expect(await virtualServiceWeights(this.ns.kube, this.ns.name)).toEqual({
      [`${APP}-primary`]: 100,
      [`${APP}-canary`]: 0,
    });
  }

  /**
   * Real traffic of one load generator answered by the primary only: more than `atLeast`
   * requests within the time allowed, all as `version` when given (once the primary's pods
   * rolled), none failed when `noErrors`.
   */
  async expectAnsweredByPrimary(
    what: string,
    options: { load?: string; atLeast: number; version?: string; noErrors?: boolean; timeoutMs?: number },
  ): Promise<void> {
    const traffic = options.load ? this.loads[options.load]! : this.main;
    if (options.version) await waitForPrimaryVersion(this.stack, options.version);
    const before = traffic.counts();
    const grown = (now: Record<string, number>, was: Record<string, number>, key: string) =>
      (now[key] ?? 0) - (was[key] ?? 0);
    await eventually(
      what,
      async () => {
        const now = traffic.counts();
        const primary = grown(now.byWorkload, before.byWorkload, `${APP}-primary`);
        const canary = grown(now.byWorkload, before.byWorkload, APP);
        const errors = grown(now.byStatus, before.byStatus, '500');
        const asVersion = options.version ? grown(now.byVersion, before.byVersion, options.version) : primary;
        return (
          primary > options.atLeast &&
          canary === 0 &&
          asVersion === primary &&
          (!options.noErrors || errors === 0)
        );
      },
      { timeoutMs: options.timeoutMs ?? 20_000 },
    );
  }

  /**
   * After a promotion to `version`: the primary runs it, the target is scaled to zero, and
   * once the primary's pods rolled, `load`'s requests are answered by it as `version`;
   * Slack said so.
   */
  async expectPromoted(version: string, load: string): Promise<void> {
    expect((await this.primary()).image).toBe(`${IMAGE}:${version}`);
    expect(await this.targetReplicas()).toBe(0);
    await this.expectAnsweredByPrimary(`${load}' traffic answered by the primary as ${version}`, {
      load,
      atLeast: 10,
      version,
      timeoutMs: 30_000,
    });
    await this.waitForSlack('Slack told "promotion completed"', 'promotion completed');
  }

  /** The versions the primary's ready processes answer as. */
  async primaryVersions(): Promise<string[]> {
    return (await answersOf(this.stack, `${APP}-primary`)).map((a) => a.version);
  }

  /** The controller's delivery counters of this namespace and strategy. */
  async expectDeliveryMetrics(
    strategy: string,
    expected: { started: number; promotions: number; rollbacks: number },
  ): Promise<void> {
    const labels = { namespace: this.ns.name, strategy };
    const metric = (name: string) => controllerMetric(this.stack, `sluice_canary_${name}_total`, labels);
    expect({
      started: await metric('rollouts_started'),
      promotions: await metric('promotions'),
      rollbacks: await metric('rollbacks'),
    }).toEqual(expected);
  }

  /** Waits until Slack got a line for this canary for each of `lines` (a message, or a pattern of one). */
  waitForSlack(what: string, ...lines: (string | RegExp)[]) {
    const prefix = `${APP}.${this.ns.name}: `;
    const said = (line: string | RegExp, text: string) =>
      typeof line === 'string'
        ? text === prefix + line
        : text.startsWith(prefix) && line.test(text.slice(prefix.length));
    return eventually(what, async () =>
      lines.every((line) => slackLines(this.stack).some((text) => said(line, text))),
    );
  }
}

/** Sets up this test file's scenario (see Scenario). */
export function useScenario(prefix: string, options: ScenarioOptions): Scenario {
  const scenario = new Scenario(useNamespace(prefix));
  const { ns, loads } = scenario;
  beforeAll(async () => {
    const stack = await startStack(ns.name, {
      proxies: options.proxies?.(ns.name) ?? [{ service: APP }],
      ...(options.loadtester ? { loadtester: true } : {}),
    });
    scenario.stack = stack;
    await options.prepare?.(ns);
    await scenario.deploy('1.0.0', options.deployment);
    await apply(ns.kube, demoCanary(ns.name, options.canary(stack)));
    for (const [name, { proxy = 0, ...loadOptions }] of Object.entries(options.loads ?? { main: {} })) {
      loads[name] = load(stack.runtime.proxies[proxy]!.url, loadOptions);
    }
    const probe = options.probe;
    scenario.recorder = new Recorder(ns.kube, ns.name, loads, probe && (() => probe(ns))).start();
  });
  afterAll(async () => {
    scenario.recorder?.stop();
    await Promise.all(Object.values(loads).map((l) => l.stop()));
    await scenario.stack?.stop();
  });
  return scenario;
}

/** The last analysis' checks by metric name. */
export function analysisOf(canary: Canary): Record<string, AnalysisResult | undefined> {
  return Object.fromEntries((canary.status?.lastAnalysis ?? []).map((a) => [a.name, a]));
}

/** The last analysis read a healthy release's real series: every request succeeded, fast enough. */
export function expectHealthyAnalysis(canary: Canary): Record<string, AnalysisResult | undefined> {
  const analysis = analysisOf(canary);
  expect(analysis['request-success-rate']).toMatchObject({ passed: true, value: 100 });
  expect(analysis['request-duration']?.passed).toBe(true);
  return analysis;
}

/** An Istio Canary's spec that moves 50 % to the canary in one step, checked every 10 s. */
export function istioAt50(analysis: Record<string, unknown>): Record<string, unknown> {
  return {
    provider: 'istio',
    analysis: { interval: '10s', threshold: 2, stepWeight: 50, maxWeight: 50, ...analysis },
  };
}
