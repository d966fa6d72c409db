import type { Progress } from '../../src/dev/progress.ts';
import { canaryChecksum } from '../../src/hooks/webhook.ts';
import { apply, type Kube } from '../../src/kube/client.ts';
import { readCanary } from '../../src/controller/reconciler.ts';
import { ControllerSupervisor } from './controller.ts';
import { createNamespace, deleteNamespace, suffix, type ChaosEnv } from './env.ts';
import {
  canary,
  configMap,
  deployment,
  expectedOutcome,
  expectedSteps,
  workloads,
  type FleetTiming,
  type ReleaseKind,
  type Workload,
} from './fleet.ts';
import {
  CHAT_ANNOUNCEMENTS,
  InvariantChecker,
  repeatedSideEffects,
  skippedChatMessages,
  skippedSteps,
} from './invariants.ts';
import { RECEIVER_SLACK_CHANNEL, RECEIVER_SLACK_TOKEN, startReceiver, type Receiver } from './receiver.ts';

// What the kill, failover and outage scenarios share: a namespace of canaries of known outcome,
// the recording receiver, the invariant checker, and rounds of releases (every Deployment gets a
// new revision at once; the round ends when every canary has finished), each rollout's outcome
// checked against what its metrics say.

const applyAsUser = (kube: Kube, object: object) =>
  apply(kube, object as Parameters<typeof apply>[1], { fieldManager: 'kubectl' });

const TERMINAL = new Set(['Succeeded', 'Failed']);
/** How long a chat message may still be on its way after its announcement (the notifier's deadline and then some). */
const CHAT_SETTLE_MS = 20_000;

export interface RolloutResult {
  name: string;
  kind: ReleaseKind;
  round: number;
  outcome: string;
  seconds: number;
  checksum: string;
}

export interface RolloutFleet {
  workloads: Workload[];
  checker: InvariantChecker;
  receiver: Receiver;
  results: RolloutResult[];
  /** Rollouts whose outcome was not the one their metrics call for (or that never finished). */
  wrongOutcomes: string[];
  /** Starts round `round` for `names` (default all) and waits until each has finished. */
  round(round: number, timeoutMs: number, names?: readonly string[]): Promise<RolloutResult[]>;
  /**
   * Repeated and skipped side effects over every finished rollout; `repeatedRaw` counts hook
   * calls repeated under the same idempotency key too (what a receiver that ignores keys runs).
   */
  sideEffects(): { repeated: string[]; repeatedRaw: string[]; skipped: string[] };
  stop(): Promise<void>;
}

/**
 * Rounds of releases for as long as `faults` (kills, relabels …) runs, one round at least,
 * and none started after `deadline` (epoch ms); then waits for `faults` to end. Returns how
 * many rounds ran.
 */
export async function roundsWhile(
  fleet: Pick<RolloutFleet, 'round'>,
  faults: Promise<unknown>,
  options: {
    deadline: number;
    roundTimeoutMs: number;
    afterRound?: (round: number, results: RolloutResult[]) => void;
  },
): Promise<number> {
  let faulting = true;
  const ended = () => {
    faulting = false;
  };
  void faults.then(ended, ended);
  let round = 0;
  while (round === 0 || faulting) {
    round += 1;
    // Awaited first: an optional call leaves its arguments unevaluated when there is no afterRound.
    const results = await fleet.round(round, options.roundTimeoutMs);
    options.afterRound?.(round, results);
    if (Date.now() > options.deadline) break;
  }
  await faults;
  return round;
}

export async function startRolloutFleet(
  env: ChaosEnv,
  options: {
    namespace: string;
    canaries: number;
    timing: FleetTiming;
    progress: Progress;
    /** Starts the controller(s) once the objects exist; they must be reconciling when it returns. */
    startController: (receiver: Receiver) => Promise<void>;
    initTimeoutMs?: number;
  },
): Promise<RolloutFleet> {
  const { kube, exporter } = env;
  const { namespace, progress } = options;
  const fleet = workloads(options.canaries);
  const kinds = new Map(fleet.map((w) => [w.name, w.kind]));
  const receiver = await startReceiver({ gateOpensAfterMs: 6000 });
  const checker = new InvariantChecker(kube, namespace, kinds, (v) =>
    progress.info(`VIOLATION ${v.kind}: ${v.what}`),
  );
  exporter.add(
    namespace,
    fleet.map((w) => w.name),
  );
  for (const w of fleet) if (w.kind === 'bad') exporter.setErrorRatio(namespace, w.name, 0.5);
  await checker.start();
  await progress.step(`creating ${fleet.length} workloads and Canaries in ${namespace}`, async () => {
    for (const w of fleet) {
      if (w.kind === 'healthy') await applyAsUser(kube, configMap(namespace, w.name));
      await applyAsUser(kube, deployment(namespace, w, 0));
    }
  });
  await options.startController(receiver);
  for (const w of fleet) await applyAsUser(kube, canary(namespace, w, receiver.url, options.timing));
  await progress.step(`waiting for ${fleet.length} canaries to be Initialized`, async (update) => {
    const deadline = Date.now() + (options.initTimeoutMs ?? 180_000);
    for (;;) {
      const ready = fleet.filter((w) => checker.canaries.get(w.name)?.phase === 'Initialized').length;
      if (ready === fleet.length) return;
      if (Date.now() > deadline) throw new Error(`only ${ready}/${fleet.length} canaries Initialized`);
      update(`${ready}/${fleet.length}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  const results: RolloutResult[] = [];
  const wrongOutcomes: string[] = [];
  const roundStarts: number[] = [];
  const finishedEvents = new Map<string, { kind: ReleaseKind; outcome: string }>();

  const round = async (n: number, timeoutMs: number, names?: readonly string[]) => {
    const chosen = fleet.filter((w) => !names || names.includes(w.name));
    const before = new Map(chosen.map((w) => [w.name, checker.canaries.get(w.name)?.lastAppliedSpec]));
    // Notifications of the round before are sent after its status writes: let them land.
    await new Promise((r) => setTimeout(r, 3000));
    roundStarts[n] = Date.now();
    const started = Date.now();
    for (const w of chosen) await applyAsUser(kube, deployment(namespace, w, n));
    const done = new Map<string, RolloutResult>();
    const deadline = started + timeoutMs;
    while (done.size < chosen.length && Date.now() < deadline) {
      for (const w of chosen) {
        if (done.has(w.name)) continue;
        const view = checker.canaries.get(w.name);
        if (!view || !TERMINAL.has(view.phase) || view.lastAppliedSpec === before.get(w.name)) continue;
        const status = (await readCanary(kube, namespace, w.name)).status ?? {};
        const result: RolloutResult = {
          name: w.name,
          kind: w.kind,
          round: n,
          outcome: view.phase,
          seconds: (Date.now() - started) / 1000,
          checksum: canaryChecksum(status),
        };
        done.set(w.name, result);
        const expected = expectedOutcome(w.kind);
        if (view.phase !== expected)
          wrongOutcomes.push(
            `${w.name} round ${n}: ${view.phase}, expected ${expected} (${view.message ?? ''})`,
          );
        else if (expected === 'Succeeded' && status.lastPromotedSpec !== status.lastAppliedSpec)
          wrongOutcomes.push(`${w.name} round ${n}: Succeeded but the promoted spec is not the applied one`);
        finishedEvents.set(`${w.name}/${result.checksum}`, { kind: w.kind, outcome: view.phase });
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const w of chosen)
      if (!done.has(w.name))
        wrongOutcomes.push(
          `${w.name} round ${n}: not finished after ${timeoutMs / 1000}s (${checker.canaries.get(w.name)?.phase ?? '?'}: ${checker.canaries.get(w.name)?.message ?? ''})`,
        );
    const finished = [...done.values()];
    results.push(...finished);
    return finished;
  };

  const roundOf = (at: number) => {
    let r = 0;
    roundStarts.forEach((start, i) => {
      if (start !== undefined && start <= at) r = i;
    });
    return r;
  };

  return {
    workloads: fleet,
    checker,
    receiver,
    results,
    wrongOutcomes,
    round,
    sideEffects() {
      const repeated = repeatedSideEffects(receiver.calls, roundOf);
      const repeatedRaw = repeatedSideEffects(receiver.calls, roundOf, { raw: true });
      const skipped: string[] = [];
      for (const [key, { kind, outcome }] of finishedEvents) {
        if (outcome !== 'Succeeded') continue;
        const [name, checksum] = key.split('/') as [string, string];
        const said = receiver.calls
          .filter((c) => c.kind === 'event' && c.name === name && c.checksum === checksum)
          .map((c) => c.what);
        for (const step of skippedSteps(said, expectedSteps(kind)))
          skipped.push(`${name} rev ${checksum}: no "${step}"`);
        for (const hook of ['pre-rollout', 'post-rollout'])
          if (
            !receiver.calls.some(
              (c) => c.kind === 'hook' && c.what === hook && c.name === name && c.checksum === checksum,
            )
          )
            skipped.push(`${name} rev ${checksum}: no ${hook} hook`);
      }
      // A chat message is owed per announcement; one on its way (the notifier's deadline, 15 s) is not counted yet.
      const toldChat = (message: string) => CHAT_ANNOUNCEMENTS.some((pattern) => pattern.test(message));
      skipped.push(...skippedChatMessages(receiver.calls, toldChat, Date.now() - CHAT_SETTLE_MS));
      return { repeated, repeatedRaw, skipped };
    },
    async stop() {
      await checker.stop();
      await receiver.close();
      env.exporter.removeNamespace(namespace);
    },
  };
}

export interface Scenario {
  namespace: string;
  supervisor: ControllerSupervisor;
  fleet: RolloutFleet;
  /** Everything that did not hold: wrong outcomes, violations, repeats, skips, unclean exits. */
  failures(): { failures: string[]; repeated: string[]; repeatedRaw: string[]; skipped: string[] };
  /** Stops the fleet's watches and receiver and deletes the namespace (the caller stops its replicas first). */
  stop(): Promise<void>;
}

export interface ScenarioOptions {
  canaries: number;
  interval: string;
  progressDeadlineSeconds?: number;
  /** --metrics-server (default: the control plane's Prometheus). */
  prometheusUrl?: string;
  /** The replicas elect a leader with this lease, in the scenario's namespace (default: --no-leader-elect). */
  leaseDuration?: string;
}

/**
 * A scenario's namespace, controller supervisor (the controller's events and Slack messages go
 * to the fleet's receiver) and rollout fleet; `start` starts the replicas once the objects exist.
 */
export async function startScenario(
  env: ChaosEnv,
  progress: Progress,
  name: string,
  options: ScenarioOptions,
  start: (supervisor: ControllerSupervisor, namespace: string) => Promise<void>,
): Promise<Scenario> {
  const namespace = `chaos-${name}-${suffix()}`;
  await createNamespace(env.kube, namespace);
  const election = options.leaseDuration
    ? ['--lease-duration', options.leaseDuration, '--leader-election-namespace', namespace]
    : ['--no-leader-elect'];
  const supervisor = new ControllerSupervisor({
    kubeconfig: env.cluster.kubeconfig,
    prometheusUrl: options.prometheusUrl ?? env.cluster.prometheusUrl,
    namespace,
    logDir: env.logDir,
    args: ['--step-events', '--mesh-provider', 'istio', ...election],
  });
  const fleet = await startRolloutFleet(env, {
    namespace,
    canaries: options.canaries,
    timing: { interval: options.interval, progressDeadlineSeconds: options.progressDeadlineSeconds ?? 300 },
    progress,
    startController: async (receiver) => {
      // Slack through its Web API, so a message a kill left pending is looked up, not repeated.
      supervisor.setEnv({
        EVENT_WEBHOOK_URL: `${receiver.url}/events`,
        SLACK_URL: `${receiver.url}/api/chat.postMessage`,
        SLACK_TOKEN: RECEIVER_SLACK_TOKEN,
        SLACK_CHANNEL: RECEIVER_SLACK_CHANNEL,
      });
      await start(supervisor, namespace);
    },
  });
  return {
    namespace,
    supervisor,
    fleet,
    failures() {
      const { repeated, repeatedRaw, skipped } = fleet.sideEffects();
      for (const exit of supervisor.uncleanExits) fleet.checker.violate('controller-exit', exit);
      return {
        repeated,
        repeatedRaw,
        skipped,
        failures: [
          ...fleet.wrongOutcomes.map((w) => `wrong outcome: ${w}`),
          ...fleet.checker.violations.map((v) => `${v.kind}: ${v.what}`),
          ...repeated.map((r) => `repeated: ${r}`),
          ...skipped.map((s) => `skipped: ${s}`),
        ],
      };
    },
    async stop() {
      await fleet.stop();
      await deleteNamespace(env.kube, namespace);
    },
  };
}
