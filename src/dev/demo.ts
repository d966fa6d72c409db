import type { AnalysisResult, JudgeVerdictStatus } from '../api/status.ts';
import type { Kube } from '../kube/client.ts';
import { createLogger, type Logger } from '../log.ts';
import { down, exportLines, up, type ClusterEnv } from './cluster.ts';
import { renderDemoFrame, type DemoFrame } from './demo-view.ts';
import { startDemoLoad, type DemoLoad, type LoadCounts } from './loadgen.ts';
import type { Progress } from './progress.ts';
import {
  deployDemoStatefulSet,
  demoHooks,
  demoWorkload,
  demoStatefulSet,
  STS_REPLICAS,
  STS_STEP_REPLICAS,
} from './demo-statefulset.ts';
import { applyManifest, startAppStack, type AppStack } from './stack.ts';

import type { DemoProvider, DemoTarget } from '../cli/demo.ts';

export type { DemoProvider, DemoTarget };

const DEMO_TITLES: Record<DemoProvider, string> = {
  istio: 'Istio (VirtualService)',
  gatewayapi: 'Gateway API (HTTPRoute)',
  contour: 'Contour (HTTPProxy)',
  traefik: 'Traefik (TraefikService)',
};
/** The request series each provider's built-in metrics read, for the final screen. */
const DEMO_SERIES: Record<DemoProvider, string> = {
  istio: 'istio_requests_total',
  gatewayapi: 'http_request_duration_seconds_count',
  contour: 'envoy_cluster_upstream_rq',
  traefik: 'traefik_service_requests_total',
};

export interface DemoOptions {
  provider: DemoProvider;
  /** What the demo releases: a Deployment (routed by `provider`) or a StatefulSet (by partition). */
  target?: DemoTarget;
  keep: boolean;
  stateDir: string;
  progress: Progress;
  write: (text: string) => void;
  tty: boolean;
  /** Stop waiting for an outcome after this long. */
  timeoutMs?: number;
  /** The statistical judge's run: a subtle bad release, caught by comparing with the primary. */
  judge?: boolean;
}

const NAMESPACE = 'demo';
const APP = 'podinfo';

interface CanaryStatusView {
  phase?: string;
  message?: string;
  canaryWeight?: number;
  failedChecks?: number;
  lastAppliedSpec?: string;
  lastAnalysis?: AnalysisResult[];
  judge?: { verdicts: JudgeVerdictStatus[] };
}

/** The demo app's Deployment; a release changes the image tag and, for a bad one, the env. */
export function demoDeployment(version: string, env: Record<string, string> = {}) {
  // No replicas here: Sluice scales the idle canary to zero without fighting Git.
  return demoWorkload('Deployment', version, env);
}

/**
 * With `--judge`: the judge compares canary and primary every 2 s, and the fixed checks get
 * a tolerant threshold, so what rolls the subtle bad release back is the judge's evidence.
 */
const JUDGE_ANALYSIS = { judge: { builtins: ['errors', 'latency'] }, checkEvery: '2s', threshold: 10 };

/** The demo's Canary: built-in metrics, a load-test webhook, a Slack alert (and the judge, with --judge). */
export function demoCanary(provider: DemoProvider, loadtesterUrl: string, proxyUrl: string, judge = false) {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: APP, namespace: NAMESPACE },
    spec: {
      provider,
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: APP },
      progressDeadlineSeconds: 60,
      service: {
        port: 9898,
        // A TraefikService has no host: the IngressRoute in front of it decides that.
        ...(provider === 'traefik' ? {} : { hosts: [`${APP}.${NAMESPACE}`] }),
        ...(provider === 'gatewayapi'
          ? { gatewayRefs: [{ name: 'demo-gateway', namespace: NAMESPACE }] }
          : {}),
      },
      analysis: {
        interval: '10s',
        threshold: 2,
        stepWeight: 20,
        maxWeight: 60,
        metrics: [
          { name: 'request-success-rate', interval: '30s', thresholdRange: { min: 99 } },
          { name: 'request-duration', interval: '30s', thresholdRange: { max: 500 } },
        ],
        ...demoHooks(loadtesterUrl, proxyUrl),
        ...(judge ? JUDGE_ANALYSIS : {}),
      },
    },
  };
}

/** The demo's Slack AlertProvider, the app at 1.0.0 and its Canary, applied as a user would. */
export async function deployDemoApp(stack: AppStack, provider: DemoProvider, judge = false): Promise<void> {
  await deployDemoSlack(stack);
  await applyManifest(stack.kube, demoDeployment('1.0.0'));
  await applyManifest(
    stack.kube,
    demoCanary(provider, stack.loadtesterUrl!, stack.runtime.proxies[0]!.url, judge),
  );
}

/** The Slack stand-in's Secret and the AlertProvider the demo's Canaries alert through. */
async function deployDemoSlack(stack: AppStack): Promise<void> {
  const { kube } = stack;
  await applyManifest(kube, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'slack-url', namespace: NAMESPACE },
    stringData: { address: stack.slack!.url },
  });
  await applyManifest(kube, {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'AlertProvider',
    metadata: { name: 'slack', namespace: NAMESPACE },
    spec: { type: 'slack', channel: 'releases', secretRef: { name: 'slack-url' } },
  });
}

/**
 * What differs between the demo's targets: how the app is deployed and released, which
 * answers count as the canary's, and how far the canary's share goes.
 */
interface DemoScenario {
  title: string;
  deploy(stack: AppStack): Promise<void>;
  release(version: string, env?: Record<string, string>): object;
  /** Of the load's answers so far, those the canary gave while `version` is released. */
  canaryCount(counts: LoadCounts, version: string): number;
  maxWeight: number;
  /** The request series the metrics read, for the `--keep` hint. */
  series: string;
  /** How a bad release is undone, for the outcome line. */
  rolledBack: string;
  /** What bootstrapping does, for its stage line. */
  bootstrapping: string;
}

function demoScenario(options: DemoOptions, prometheusUrl: string): DemoScenario {
  if (options.target === 'statefulset') {
    const last = STS_STEP_REPLICAS[STS_STEP_REPLICAS.length - 1]!;
    return {
      title: `Sluice demo — StatefulSet ${APP}.${NAMESPACE}, released by partition`,
      deploy: async (stack) => {
        await deployDemoSlack(stack);
        await deployDemoStatefulSet(stack, prometheusUrl);
      },
      release: demoStatefulSet,
      // Every pod is the StatefulSet's: the canary's answers are the released version's.
      canaryCount: (counts, version) => counts.byVersion[version] ?? 0,
      maxWeight: Math.round((last / STS_REPLICAS) * 100),
      series: 'http_request_duration_seconds_count',
      rolledBack: 'rolled back to the old ControllerRevision',
      bootstrapping: 'bootstrapping: every pod on one revision, the partition held',
    };
  }
  return {
    title: `Sluice demo — ${APP}.${NAMESPACE} on ${DEMO_TITLES[options.provider]}`,
    deploy: (stack) => deployDemoApp(stack, options.provider, options.judge),
    release: demoDeployment,
    canaryCount: (counts) => counts.byWorkload[APP] ?? 0,
    maxWeight: 60,
    series: DEMO_SERIES[options.provider],
    rolledBack: 'rolled back',
    bootstrapping: 'bootstrapping: primary, Services and routes',
  };
}

/** The demo's stack: one proxy for the app, the load tester, the Slack stand-in and the dashboard. */
export function startDemoStack(
  env: ClusterEnv,
  provider: DemoProvider,
  log: Logger,
  target: DemoTarget = 'deployment',
): Promise<AppStack> {
  return startAppStack({
    env,
    namespace: NAMESPACE,
    proxies: [
      {
        service: APP,
        // A TraefikService has no host: the IngressRoute in front of it decides that. A
        // StatefulSet's traffic is plain load balancing over its own Service's pods.
        ...(provider === 'traefik' || target === 'statefulset' ? {} : { hosts: [`${APP}.${NAMESPACE}`] }),
        ...(provider === 'gatewayapi' ? { gateway: { name: 'demo-gateway', namespace: NAMESPACE } } : {}),
      },
    ],
    loadtester: true,
    slack: true,
    dashboard: true,
    log,
  });
}

export async function readStatus(kube: Kube): Promise<CanaryStatusView> {
  const canary = (await kube.wire.getObject({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: APP, namespace: NAMESPACE },
  })) as { status?: CanaryStatusView };
  return canary.status ?? {};
}

/** Requests answered in the last few seconds, from the load generator's running counts. */
class TrafficWindow {
  private readonly samples: { at: number; counts: LoadCounts }[] = [];
  private readonly load: DemoLoad;
  private readonly canaryCount: (counts: LoadCounts) => number;
  constructor(load: DemoLoad, canaryCount: (counts: LoadCounts) => number) {
    this.load = load;
    this.canaryCount = canaryCount;
  }
  sample(now: number): DemoFrame['traffic'] {
    const counts = structuredClone(this.load.counts());
    this.samples.push({ at: now, counts });
    while (this.samples.length > 2 && now - (this.samples[0]?.at ?? now) > 5000) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = Math.max(0.001, (now - first.at) / 1000);
    const sum = (record: Record<string, number>, match: (key: string) => boolean) =>
      Object.entries(record)
        .filter(([key]) => match(key))
        .reduce((total, [, value]) => total + value, 0);
    const total = counts.total - first.counts.total;
    const canary = this.canaryCount(counts) - this.canaryCount(first.counts);
    const errors =
      sum(counts.byStatus, (k) => k.startsWith('5')) - sum(first.counts.byStatus, (k) => k.startsWith('5'));
    return { total, canary, errors, rps: total / seconds };
  }
}

/**
 * The main job: a local control plane and Prometheus, the demo app run as real processes,
 * real HTTP traffic through the mesh stand-in, the controller, the load tester and a
 * Slack stand-in; then a good release (promoted) and a bad one (rolled back), live.
 * Returns the exit code.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { progress, write } = options;
  const started = Date.now();
  const env: ClusterEnv = await up({ stateDir: options.stateDir, progress });
  const log = createLogger({ level: 'warn', name: 'demo' });
  const stack: AppStack = await progress.step(
    'starting the runtime, traffic layer, controller, load tester and Slack stand-in',
    () => startDemoStack(env, options.provider, log, options.target),
  );
  const scenario = demoScenario(options, env.prometheusUrl);
  /** The version being released (none while bootstrapping): whose answers are the canary's. */
  let released = '';
  const proxyUrl = stack.runtime.proxies[0]!.url;
  const { kube } = stack;
  const canaryPage = `${stack.dashboardUrl!}canaries/${NAMESPACE}/${APP}`;
  let load: DemoLoad | undefined;
  const outcomes: string[] = [];
  let exitCode = 1;
  try {
    const how = options.target === 'statefulset' ? 'StatefulSet, by partition' : options.provider;
    await progress.step(`deploying ${APP} with a Canary (${how})`, () => scenario.deploy(stack));
    load = startDemoLoad({ url: `${proxyUrl}/`, rps: 20 });
    const traffic = new TrafficWindow(load, (counts) => scenario.canaryCount(counts, released));
    const timeoutMs = options.timeoutMs ?? 6 * 60_000;

    let lastPrinted = '';
    const show = (stage: string, status: CanaryStatusView) => {
      const frame: DemoFrame = {
        title: scenario.title,
        stage,
        elapsedMs: Date.now() - started,
        phase: status.phase ?? 'Pending',
        message: status.message ?? '',
        canaryWeight: status.canaryWeight ?? 0,
        maxWeight: scenario.maxWeight,
        failedChecks: status.failedChecks ?? 0,
        threshold: options.judge ? JUDGE_ANALYSIS.threshold : 2,
        analysis: status.lastAnalysis ?? [],
        ...(options.judge ? { judge: status.judge?.verdicts ?? [] } : {}),
        traffic: traffic.sample(Date.now()),
        slack: stack.slack!.messages.map((m) => m.text),
        outcomes,
      };
      const screen = renderDemoFrame(frame);
      if (options.tty) {
        write(`\x1b[H\x1b[2J${screen}\n`);
        return;
      }
      // In a log, print a frame when something a person cares about changed.
      const key = JSON.stringify([
        frame.stage,
        frame.phase,
        frame.canaryWeight,
        frame.failedChecks,
        frame.analysis,
        frame.judge?.map((v) => v.outcome),
        frame.slack.length,
      ]);
      if (key !== lastPrinted) {
        lastPrinted = key;
        write(`${screen}\n\n`);
      }
    };

    const waitFor = async (
      stage: string,
      done: (status: CanaryStatusView) => boolean,
    ): Promise<CanaryStatusView> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await readStatus(kube).catch(() => ({}) as CanaryStatusView);
        show(stage, status);
        if (done(status)) return status;
        if (Date.now() > deadline)
          throw new Error(
            `demo: no outcome for "${stage}" after ${timeoutMs / 1000}s (phase ${status.phase})`,
          );
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };

    const initialized = await waitFor(scenario.bootstrapping, (s) => s.phase === 'Initialized');
    // Let the primary's traffic reach Prometheus before the first release.
    await new Promise((resolve) => setTimeout(resolve, 3000));

    released = '1.1.0';
    await applyManifest(kube, scenario.release(released));
    const good = await waitFor(
      'release 1.1.0 (healthy): expected to be promoted',
      (s) =>
        s.lastAppliedSpec !== initialized.lastAppliedSpec &&
        (s.phase === 'Succeeded' || s.phase === 'Failed'),
    );
    outcomes.push(`${good.phase === 'Succeeded' ? '✔' : '✖'} release 1.1.0 (healthy): ${good.phase}`);

    // With --judge the bad release is subtle: 3 % errors, which "success rate ≥ 99" with a
    // threshold of 10 would take many intervals to act on; the judge sees them on the canary only.
    const fault: Record<string, string> = options.judge
      ? { ERROR_RATE: '0.03' }
      : { ERROR_RATE: '0.3', LATENCY_MS: '40' };
    const badName = options.judge ? 'release 1.2.0 (3% errors)' : 'release 1.2.0 (30% errors)';
    released = '1.2.0';
    await applyManifest(kube, scenario.release(released, fault));
    const bad = await waitFor(
      `${badName}: expected to be rolled back${options.judge ? ' by the judge' : ''}`,
      (s) => s.lastAppliedSpec !== good.lastAppliedSpec && (s.phase === 'Succeeded' || s.phase === 'Failed'),
    );
    outcomes.push(
      `${bad.phase === 'Failed' ? '✔' : '✖'} ${badName}: ${bad.phase === 'Failed' ? scenario.rolledBack : bad.phase}`,
    );
    // One last frame with the rollback's Slack message in it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    if (!options.tty) lastPrinted = '';
    show('done', bad);
    write(
      options.keep
        ? `\nDashboard: ${canaryPage}\n` +
            '  the weight chart shows both releases step by step, the metric charts the success rate\n' +
            '  and latency against their limits, the timeline every Event, webhook call and rollback.\n'
        : '\nWith --keep everything stays up and the dashboard shows both releases.\n',
    );
    exitCode = good.phase === 'Succeeded' && bad.phase === 'Failed' ? 0 : 1;
    write(
      exitCode === 0
        ? `\nBoth outcomes as expected: the healthy release was promoted, the bad one rolled back (${((Date.now() - started) / 1000).toFixed(0)}s).\n`
        : '\nThe demo did not end as expected; the controller log is in ' +
            `${stack.logDir}/controller.log\n`,
    );

    if (options.keep) {
      write(
        [
          '',
          'Everything keeps running (Ctrl-C stops it).',
          `  Dashboard: ${stack.dashboardUrl!}   (this canary: ${canaryPage})`,
          'In another terminal:',
          `  ${exportLines(env).split('\n').join('\n  ')}`,
          `  npx sluice status ${APP} -n ${NAMESPACE} --watch     # follow the canary`,
          `  npx sluice get -A                                   # every canary`,
          `  curl -s ${proxyUrl}/                    # the app through the mesh stand-in`,
          `  open ${env.prometheusUrl}/graph?g0.expr=${scenario.series}   # Prometheus`,
          `  Logs: ${stack.logDir}`,
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return exitCode;
  } finally {
    await load?.stop().catch(() => undefined);
    await stack.stop();
    // On failure, keep the logs to read; `sluice dev down --dir` removes them.
    await down(options.stateDir, { keepFiles: exitCode !== 0 });
    if (exitCode !== 0) write(`Logs kept in ${options.stateDir}/logs\n`);
  }
}
