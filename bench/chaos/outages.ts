import type { Progress } from '../../src/dev/progress.ts';
import type { Figures } from '../report.ts';
import type { Replica } from './controller.ts';
import type { ChaosEnv } from './env.ts';
import {
  killProcess,
  startPrometheusProxy,
  type ControlPlaneProcess,
  type PrometheusBehaviour,
} from './faults.ts';
import type { Behaviour, CallKind } from './receiver.ts';
import { startScenario } from './rollouts.ts';

// `outages`: the control plane misbehaves in the middle of a rollout, one fault at a time. Each
// fault gets a round of two releases, one healthy and one bad: the fault starts when the healthy
// canary reaches its first step and lasts its duration. Figures per fault: survived (controller
// up, invariants held, outcomes by the rules), the healthy rollout's extra time against a round
// without a fault, and the outcome. The expected outcome follows the rules: no metric data or a
// failing hook for longer than threshold × interval fails the rollout; anything else must not.

export interface Fault {
  name: string;
  /** How long the fault lasts (s). */
  seconds: number;
  /** What the healthy release must end as. */
  expected: 'Succeeded' | 'Failed';
  /** Needs the scenario's own control plane (kills its processes). */
  owned?: boolean;
  process?: ControlPlaneProcess;
  prometheus?: PrometheusBehaviour;
  receiver?: { kind: CallKind; behaviour: Behaviour };
}

export const FAULTS: readonly Fault[] = [
  { name: 'apiserver-10s', seconds: 10, expected: 'Succeeded', owned: true, process: 'apiserver' },
  { name: 'apiserver-60s', seconds: 60, expected: 'Succeeded', owned: true, process: 'apiserver' },
  { name: 'etcd-restart', seconds: 3, expected: 'Succeeded', owned: true, process: 'etcd' },
  { name: 'prometheus-killed-2m', seconds: 120, expected: 'Failed', owned: true, process: 'prometheus' },
  { name: 'prometheus-down-2m', seconds: 120, expected: 'Failed', prometheus: 'down' },
  { name: 'prometheus-slow', seconds: 40, expected: 'Succeeded', prometheus: 'slow' },
  { name: 'prometheus-500', seconds: 40, expected: 'Failed', prometheus: 'error' },
  { name: 'prometheus-nan', seconds: 40, expected: 'Failed', prometheus: 'nan' },
  { name: 'prometheus-empty', seconds: 40, expected: 'Failed', prometheus: 'empty' },
  { name: 'webhook-hangs', seconds: 40, expected: 'Failed', receiver: { kind: 'hook', behaviour: 'hang' } },
  { name: 'webhook-500', seconds: 40, expected: 'Failed', receiver: { kind: 'hook', behaviour: 'error' } },
  {
    name: 'webhook-garbage',
    seconds: 40,
    expected: 'Succeeded',
    receiver: { kind: 'hook', behaviour: 'garbage' },
  },
  { name: 'slack-down', seconds: 60, expected: 'Succeeded', receiver: { kind: 'slack', behaviour: 'down' } },
];

export interface OutageOptions {
  /** Fault names to run (default: all the environment allows). */
  only?: readonly string[];
  interval: string;
}

export interface FaultResult {
  fault: string;
  survived: boolean;
  outcome: string;
  expected: string;
  extraSeconds: number;
  why: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function outagesRun(env: ChaosEnv, options: OutageOptions, progress: Progress) {
  const faults = FAULTS.filter((f) => (options.only ? options.only.includes(f.name) : env.owned || !f.owned));
  const proxy = await startPrometheusProxy(env.cluster.prometheusUrl);
  let replica: Replica | undefined;
  const scenario = await startScenario(
    env,
    progress,
    'outages',
    // healthy-000 and bad-001.
    { canaries: 2, interval: options.interval, progressDeadlineSeconds: 600, prometheusUrl: proxy.url },
    async (supervisor) => {
      replica = await supervisor.start('outages');
    },
  );
  const { supervisor, fleet } = scenario;
  const healthy = fleet.workloads[0]!.name;
  const results: FaultResult[] = [];
  const started = Date.now();
  let round = 0;
  try {
    round += 1;
    const baseline = await progress.step('a round without a fault (the baseline)', () =>
      fleet.round(round, 600_000),
    );
    const baselineS = baseline.find((r) => r.name === healthy)?.seconds ?? Number.NaN;
    for (const fault of faults) {
      round += 1;
      const violationsBefore = fleet.checker.count();
      const exitsBefore = supervisor.uncleanExits.length;
      const outcome = await progress.step(`fault ${fault.name} (${fault.seconds}s)`, async () => {
        const finished = fleet.round(round, 900_000);
        // Mid-rollout: once the healthy canary has taken its first step.
        const deadline = Date.now() + 120_000;
        while ((fleet.checker.canaries.get(healthy)?.canaryWeight ?? 0) === 0 && Date.now() < deadline)
          await sleep(200);
        let restart: (() => Promise<void>) | undefined;
        if (fault.process) restart = await killProcess(env.cluster.stateDir, fault.process);
        if (fault.prometheus) proxy.behave(fault.prometheus);
        if (fault.receiver) fleet.receiver.misbehave(fault.receiver.kind, fault.receiver.behaviour);
        await sleep(fault.seconds * 1000);
        await restart?.();
        proxy.behave('ok');
        fleet.receiver.misbehave('hook', 'ok');
        fleet.receiver.misbehave('slack', 'ok');
        return finished;
      });
      const result = outcome.find((r) => r.name === healthy);
      const bad = outcome.find((r) => r.name !== healthy);
      const why = [
        ...fleet.checker.violations.slice(violationsBefore).map((v) => `${v.kind}: ${v.what}`),
        ...supervisor.uncleanExits.slice(exitsBefore),
        ...(result?.outcome === fault.expected
          ? []
          : [`healthy ended ${result?.outcome ?? 'unfinished'}, expected ${fault.expected}`]),
        ...(bad?.outcome === 'Failed' ? [] : [`bad ended ${bad?.outcome ?? 'unfinished'}, expected Failed`]),
      ];
      // A controller that died is started again, so the next fault still runs (and it counts here).
      if (replica && (replica.child.exitCode !== null || replica.child.signalCode !== null))
        replica = await supervisor.start('outages');
      results.push({
        fault: fault.name,
        survived: why.length === 0,
        outcome: result?.outcome ?? 'unfinished',
        expected: fault.expected,
        extraSeconds: (result?.seconds ?? Number.NaN) - baselineS,
        why,
      });
      progress.info(`${fault.name}: ${why.length === 0 ? 'survived' : `NOT survived: ${why.join('; ')}`}`);
    }
  } finally {
    if (replica) await supervisor.stop(replica, 'SIGTERM');
    await scenario.stop();
    await proxy.close();
  }
  const figures: Figures = {
    faults: results.length,
    survived: results.filter((r) => r.survived).length,
  };
  for (const r of results) {
    const key = r.fault.replaceAll('-', '_');
    figures[`${key}_survived`] = r.survived ? 1 : 0;
    figures[`${key}_extra_s`] = r.extraSeconds;
    figures[`${key}_succeeded`] = r.outcome === 'Succeeded' ? 1 : 0;
  }
  figures.unclean_exits = supervisor.uncleanExits.length;
  figures.duration_s = (Date.now() - started) / 1000;
  const failures = results.filter((r) => !r.survived).flatMap((r) => r.why.map((w) => `${r.fault}: ${w}`));
  return { figures, failures, details: { results } };
}
