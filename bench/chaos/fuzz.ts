import { ApiException, HttpMethod } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Progress } from '../../src/dev/progress.ts';
import { apply, type Kube } from '../../src/kube/client.ts';
import type { Figures } from '../report.ts';
import { mapLimit } from '../stats.ts';
import type { Replica } from './controller.ts';
import type { ChaosEnv } from './env.ts';
import { namesField } from './fuzz-names.ts';
import { CEL_BOMBS, fuzzCases, type FuzzCase } from './fuzz-cases.ts';
import { canaryObject } from '../../test/support/canaries.ts';
import { deployment } from './fleet.ts';
import { startScenario } from './rollouts.ts';

// `fuzz`: hundreds of malformed or hostile Canaries, MetricTemplates and AlertProviders go to
// the real apiserver while one healthy canary rolls out, and two canaries with real targets
// evaluate CEL that explodes. Every object is either refused at admission with a message that
// names the field, or accepted and then marked Stalled naming the field, or accepted and
// handled; the controller never exits, and the healthy canary keeps to its schedule.

export interface FuzzOptions {
  cases: number;
  seed: number;
  interval: string;
  concurrency: number;
  /**
   * How late the healthy canary's step may come, in intervals, before it counts as a failure
   * (default 1). The slice in the test suite shares two cores with other test files and
   * allows more: what it proves is that no hostile object stops the others being served.
   */
  lagLimitIntervals?: number;
}

const PLURAL = { Canary: 'canaries', MetricTemplate: 'metrictemplates', AlertProvider: 'alertproviders' };

const StatusBody = z.object({ message: z.string().optional() });
const CanaryView = z.object({
  status: z
    .object({
      phase: z.string().optional(),
      conditions: z
        .array(z.object({ type: z.string(), status: z.string(), message: z.string().optional() }))
        .optional(),
    })
    .optional(),
});

type Verdict = 'rejected' | 'stalled' | 'handled' | 'unanswered';

interface CaseResult {
  id: number;
  kind: string;
  mutations: string[];
  verdict: Verdict;
  message: string;
  namesField: boolean;
}

async function create(
  kube: Kube,
  namespace: string,
  fuzz: FuzzCase,
): Promise<{ ok: boolean; message: string }> {
  try {
    await kube.wire.request(
      HttpMethod.POST,
      `/apis/sluice.dev/v1alpha1/namespaces/${namespace}/${PLURAL[fuzz.kind]}`,
      {
        body: fuzz.object,
      },
    );
    return { ok: true, message: '' };
  } catch (error) {
    if (error instanceof ApiException) {
      const body = StatusBody.safeParse(error.body);
      const status = (error as ApiException<unknown>).code;
      const message = body.success ? (body.data.message ?? '') : String(error.body);
      // A 5xx is the apiserver failing on the input, not refusing it: reported as naming nothing.
      return { ok: false, message: status >= 500 ? `HTTP ${status} (server error): ${message}` : message };
    }
    throw error;
  }
}

export async function fuzzRun(env: ChaosEnv, options: FuzzOptions, progress: Progress) {
  let replica: Replica | undefined;
  // The healthy canary; two with a CEL bomb in their template come later: real targets, real rollouts.
  const scenario = await startScenario(
    env,
    progress,
    'fuzz',
    { canaries: 1, interval: options.interval },
    async (supervisor) => {
      replica = await supervisor.start('fuzz');
    },
  );
  const { namespace, supervisor, fleet } = scenario;
  const healthy = fleet.workloads[0]!.name;
  const results: CaseResult[] = [];
  const bombOutcomes: Record<string, string> = {};
  const started = Date.now();
  try {
    const bombs = await celBombs(env.kube, namespace, env.cluster.prometheusUrl, 15_000);
    const cases = fuzzCases(options.cases, options.seed, namespace, fleet.receiver.url);
    // A controller that dies is started again, as its Deployment would be (the exit still counts).
    const watchdog = setInterval(() => {
      if (!replica || (replica.child.exitCode === null && replica.child.signalCode === null)) return;
      replica = undefined;
      void supervisor.start('fuzz').then((next) => (replica = next));
    }, 1000);
    const rollout = fleet.round(1, 600_000).finally(() => clearInterval(watchdog));
    let created = 0;
    const outcomes = await progress.step(`sending ${cases.length} fuzzed objects`, (update) =>
      mapLimit(cases, options.concurrency, async (fuzz) => {
        const outcome = await create(env.kube, namespace, fuzz);
        created += 1;
        if (created % 100 === 0) update(`${created}/${cases.length}`);
        return { fuzz, ...outcome };
      }),
    );
    await rollout;
    for (const name of bombs) {
      const read = await env.kube.wire.request(
        HttpMethod.GET,
        `/apis/sluice.dev/v1alpha1/namespaces/${namespace}/canaries/${name}`,
      );
      const status = CanaryView.parse(read).status;
      bombOutcomes[name] =
        `${status?.phase ?? 'no status'}: ${status?.conditions?.find((c) => c.type === 'Ready')?.message ?? ''}`;
    }
    // Give the controller time to look at every accepted Canary (it reconciles them all at start).
    await new Promise((r) => setTimeout(r, 10_000));
    for (const { fuzz, ok, message } of outcomes) {
      if (!ok) {
        results.push({
          id: fuzz.id,
          kind: fuzz.kind,
          mutations: fuzz.mutations,
          verdict: 'rejected',
          message,
          namesField: namesField(message),
        });
        continue;
      }
      if (fuzz.kind !== 'Canary') {
        results.push({
          id: fuzz.id,
          kind: fuzz.kind,
          mutations: fuzz.mutations,
          verdict: 'handled',
          message: '',
          namesField: true,
        });
        continue;
      }
      const name = String((fuzz.object.metadata as { name?: unknown }).name);
      const read = await env.kube.wire.request(
        HttpMethod.GET,
        `/apis/sluice.dev/v1alpha1/namespaces/${namespace}/canaries/${name}`,
      );
      const status = CanaryView.parse(read).status;
      const stalled = status?.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
      const verdict: Verdict = stalled ? 'stalled' : status?.phase ? 'handled' : 'unanswered';
      const text = stalled?.message ?? '';
      results.push({
        id: fuzz.id,
        kind: fuzz.kind,
        mutations: fuzz.mutations,
        verdict,
        message: text,
        namesField: !stalled || namesField(text),
      });
    }
  } finally {
    if (replica) await supervisor.stop(replica, 'SIGTERM');
    await scenario.stop();
  }
  const intervalS = Number.parseInt(options.interval, 10);
  const history = fleet.checker.history.get(healthy) ?? [];
  const steps = history.filter((h, i) => i > 0 && h.weight !== history[i - 1]?.weight);
  const lags = steps.slice(1).map((h, i) => (h.at - (steps[i]?.at ?? h.at)) / 1000 - intervalS);
  const lagMax = lags.length ? Math.max(...lags) : Number.NaN;
  const count = (verdict: Verdict) => results.filter((r) => r.verdict === verdict).length;
  const unnamed = results.filter((r) => !r.namesField);
  const healthyOutcome = fleet.results.find((r) => r.name === healthy)?.outcome ?? 'unfinished';
  const failures = [
    ...supervisor.uncleanExits.map((e) => `crash: ${e}`),
    ...unnamed.map(
      (r) =>
        `case ${r.id} (${r.kind}: ${r.mutations.join('; ').slice(0, 200)}) ${r.verdict} without naming the field: ${r.message.slice(0, 300)}`,
    ),
    ...results
      .filter((r) => r.verdict === 'unanswered')
      .map(
        (r) =>
          `case ${r.id} (${r.kind}: ${r.mutations.join('; ').slice(0, 200)}): accepted, but no status after the run`,
      ),
    ...fleet.wrongOutcomes.map((w) => `healthy canary: ${w}`),
    ...fleet.checker.violations.map((v) => `${v.kind}: ${v.what}`),
    ...(lagMax > intervalS * (options.lagLimitIntervals ?? 1)
      ? [
          `healthy canary: a step came ${lagMax.toFixed(1)}s late (more than ${options.lagLimitIntervals ?? 1} interval(s))`,
        ]
      : []),
  ];
  const figures: Figures = {
    cases: results.length,
    rejected: count('rejected'),
    stalled: count('stalled'),
    handled: count('handled'),
    unanswered: count('unanswered'),
    without_field: unnamed.length,
    crashes: supervisor.uncleanExits.length,
    healthy_succeeded: healthyOutcome === 'Succeeded' ? 1 : 0,
    healthy_step_lag_max_s: lagMax,
    violations: fleet.checker.count(),
    duration_s: (Date.now() - started) / 1000,
  };
  return {
    figures,
    failures,
    details: {
      celBombs: bombOutcomes,
      results: results.map((r) => ({ ...r, message: r.message.slice(0, 500) })),
    },
  };
}

/**
 * Two canaries with real targets whose template's success condition is a CEL bomb, analysed
 * against a real query: created now, given a new revision `delayMs` later. Returns their names.
 */
async function celBombs(
  kube: Kube,
  namespace: string,
  prometheusUrl: string,
  delayMs: number,
): Promise<string[]> {
  const asUser = (object: object) =>
    apply(kube, object as Parameters<typeof apply>[1], { fieldManager: 'kubectl' });
  const names: string[] = [];
  for (const [i, cel] of CEL_BOMBS.slice(0, 2).entries()) {
    const name = `cel-bomb-${i}`;
    names.push(name);
    await asUser({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'MetricTemplate',
      metadata: { name, namespace },
      spec: {
        provider: { type: 'prometheus', address: prometheusUrl },
        query: 'vector(1)',
        successCondition: cel,
      },
    });
    await asUser(deployment(namespace, { name, kind: 'ab' }, 0));
    await asUser(
      canaryObject(
        namespace,
        {
          provider: 'istio',
          analysis: {
            interval: '10s',
            threshold: 1,
            stepWeight: 50,
            maxWeight: 50,
            metrics: [{ name: 'bomb', templateRef: { name } }],
          },
        },
        name,
      ),
    );
  }
  setTimeout(() => {
    for (const name of names)
      void asUser(deployment(namespace, { name, kind: 'ab' }, 1)).catch(() => undefined);
  }, delayMs).unref();
  return names;
}
