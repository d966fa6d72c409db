import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { env as clusterEnv } from '../../src/dev/cluster.ts';
import { consoleProgress, type Progress } from '../../src/dev/progress.ts';
import { flag, INTERVAL, KEEP, nonNegativeInt, positiveInt, withFlags } from '../flags.ts';
import { loadAverage } from '../proc.ts';
import { keyValueLine, table, writeResult, type Figures } from '../report.ts';
import { createNamespace, deleteNamespace, startChaosEnv, suffix, type ChaosEnv } from './env.ts';
import { auditSetup } from '../audit.ts';
import { failoverRun, REPLICA_USERS } from './failover.ts';
import { fuzzRun } from './fuzz.ts';
import { handoverRun, SHARD_USERS } from './handover.ts';
import { killRun } from './kill.ts';
import { FAULTS, outagesRun } from './outages.ts';

// `npm run chaos -- <kill|failover|handover|outages|fuzz|security> [flags]`: each scenario brings up
// its own local control plane in .sluice/chaos-<name>, prints progress on stderr, a table and —
// as the very last line on stdout — one line of key=value figures, writes the full result as
// JSON under bench/results/, and exits 1 when an invariant did not hold. CHAOS_CLUSTER=<state
// dir> runs it on a control plane already up (`sluice dev up --dir …`) instead, for quick
// iterations; scenarios that kill control-plane processes need their own.

const RESULTS_DIR = resolve('bench', 'results');

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export interface ScenarioResult {
  figures: Figures;
  /** Every invariant that did not hold, one line each. */
  failures: string[];
  /** Anything else worth keeping in the JSON result. */
  details?: unknown;
}

/** Runs one scenario on its own control plane and reports it. */
async function report(
  name: string,
  labels: Record<string, string | number>,
  flags: { keep: boolean },
  run: (env: ChaosEnv, progress: Progress) => Promise<ScenarioResult>,
  envOptions: { apiserverArgs?: string[] } = {},
): Promise<void> {
  const progress = consoleProgress();
  const started = new Date();
  const load = await loadAverage();
  const reuse = process.env.CHAOS_CLUSTER ? await clusterEnv(process.env.CHAOS_CLUSTER) : undefined;
  if (process.env.CHAOS_CLUSTER && !reuse)
    throw new Error(`CHAOS_CLUSTER=${process.env.CHAOS_CLUSTER}: no running control plane there`);
  const env = await startChaosEnv({
    name,
    progress,
    keep: flags.keep,
    ...envOptions,
    ...(reuse ? { cluster: reuse } : {}),
  });
  let result: ScenarioResult;
  try {
    result = await run(env, progress);
  } finally {
    await env.stop();
  }
  for (const failure of result.failures.slice(0, 40)) process.stderr.write(`  ✗ ${failure}\n`);
  if (result.failures.length > 40) process.stderr.write(`  … and ${result.failures.length - 40} more\n`);
  const path = await writeResult(RESULTS_DIR, `chaos-${name}`, {
    scenario: name,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    loadAtStart: load,
    loadAtEnd: await loadAverage(),
    labels,
    ...result,
  });
  progress.info(`results: ${path}`);
  print(
    table(
      `chaos ${name} (${Object.entries(labels)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; load1 at start ${load[0]})`,
      Object.entries(result.figures).map(([figure, sluice]) => ({ figure, sluice })),
    ),
  );
  print();
  print(keyValueLine(`chaos-${name}`, labels, result.figures));
  if (result.failures.length > 0) process.exitCode = 1;
}

const SEED = flag('--seed <n>', 'seed of the kill choices', 1, nonNegativeInt);
const TIMEOUT = flag('--timeout <seconds>', 'stop killing after this long', 3600, positiveInt);

/**
 * A scenario whose replicas run under their own client certificates (`users`): the apiserver
 * logs their requests, and the scenario reads the log when it started the control plane itself.
 */
async function auditedReport<O extends { seed: number }>(
  name: string,
  users: readonly string[],
  options: O,
  keep: boolean,
  run: (env: ChaosEnv, options: O & { auditLog?: string }, progress: Progress) => Promise<ScenarioResult>,
): Promise<void> {
  const { auditLog, apiserverArgs } = await auditSetup(`chaos-${name}-audit`, users);
  await report(
    name,
    { seed: options.seed },
    { keep },
    (env, progress) => run(env, { ...options, ...(env.owned ? { auditLog } : {}) }, progress),
    { apiserverArgs },
  );
}

/** The flags of the scenarios with two controllers on Leases (failover, handover). */
function twoReplicaFlags(act: string) {
  return {
    seed: flag('--seed <n>', `seed of the ${act} choices`, 1, nonNegativeInt),
    canaries: flag('--canaries <n>', 'concurrent rollouts per round', 8, positiveInt),
    leaseDuration: flag('--lease-duration <duration>', "the controllers' --lease-duration", '15s'),
    interval: INTERVAL,
    timeoutS: flag('--timeout <seconds>', `stop the ${act}s after this long`, 3600, positiveInt),
    keep: KEEP,
  };
}

export function buildProgram(): Command {
  const program = new Command('chaos').description('Sluice under faults, on the local control plane');
  withFlags(
    program
      .command('kill')
      .description('SIGKILL the controller at random and chosen moments across concurrent rollouts'),
    {
      kills: flag('--kills <n>', 'how many kills', 100, positiveInt),
      seed: SEED,
      canaries: flag(
        '--canaries <n>',
        'concurrent rollouts per round (healthy, bad, gated, A/B in turn)',
        20,
        positiveInt,
      ),
      maxRestartDelayS: flag(
        '--max-restart-delay <seconds>',
        'restart after a random 0–N s',
        5,
        nonNegativeInt,
      ),
      interval: INTERVAL,
      roundTimeoutS: flag(
        '--round-timeout <seconds>',
        'a round not finished by then counts its rollouts as wrong',
        600,
        positiveInt,
      ),
      timeoutS: TIMEOUT,
      keep: KEEP,
    },
    async ({ keep, ...options }) => {
      await report('kill', { seed: options.seed }, { keep }, async (env, progress) => {
        const run = await killRun(env, options, progress);
        return { figures: run.figures, failures: run.failures };
      });
    },
  );
  withFlags(
    program
      .command('failover')
      .description(
        'two replicas with leader election; SIGKILL the leader, measure the takeover and writes by the non-leader',
      ),
    {
      kills: flag('--kills <n>', 'how many leader kills', 20, positiveInt),
      maxRestartDelayS: flag(
        '--max-restart-delay <seconds>',
        'restart the killed replica after a random 0–N s',
        5,
        nonNegativeInt,
      ),
      ...twoReplicaFlags('kill'),
    },
    ({ keep, ...options }) =>
      auditedReport('failover', Object.values(REPLICA_USERS), options, keep, failoverRun),
  );
  withFlags(
    program
      .command('handover')
      .description(
        'two shards (--shard a and the unsharded replica); relabel Canaries between them mid-rollout, check no step is repeated and no shard writes for the other',
      ),
    { relabels: flag('--relabels <n>', 'how many relabels', 40, positiveInt), ...twoReplicaFlags('relabel') },
    ({ keep, ...options }) =>
      auditedReport('handover', Object.values(SHARD_USERS), options, keep, handoverRun),
  );
  program
    .command('outages')
    .description(
      'kube-apiserver, etcd and Prometheus down or misbehaving, webhooks and Slack failing, mid-rollout',
    )
    .option('--only <names...>', `faults to run: ${FAULTS.map((f) => f.name).join(', ')}`)
    .option('--interval <duration>', 'spec.analysis.interval', '10s')
    .option('--keep', 'leave the control plane running afterwards', false)
    .action(async (opts: { only?: string[]; interval: string; keep: boolean }) => {
      const unknown = (opts.only ?? []).filter((name) => !FAULTS.some((f) => f.name === name));
      if (unknown.length) throw new InvalidArgumentError(`unknown fault(s): ${unknown.join(', ')}`);
      await report('outages', {}, opts, (env, progress) =>
        outagesRun(env, { interval: opts.interval, ...(opts.only ? { only: opts.only } : {}) }, progress),
      );
    });
  program
    .command('fuzz')
    .description(
      'malformed and hostile Canaries, MetricTemplates and AlertProviders while a healthy canary rolls out',
    )
    .option('--cases <n>', 'how many objects', positiveInt, 1000)
    .option('--seed <n>', 'seed of the generator', nonNegativeInt, 1)
    .option('--interval <duration>', "the healthy canary's spec.analysis.interval", '10s')
    .option('--concurrency <n>', 'objects sent at once', positiveInt, 8)
    .option('--keep', 'leave the control plane running afterwards', false)
    .action(
      async (opts: { cases: number; seed: number; interval: string; concurrency: number; keep: boolean }) => {
        await report('fuzz', { seed: opts.seed }, opts, (env, progress) => fuzzRun(env, opts, progress));
      },
    );
  program
    .command('security')
    .description('issue 16 §5: secrets never logged, query escaping, URL allowlist, token, no shell, RBAC')
    .option('--runs <n>', 'property runs of the escaping checks', positiveInt, 1000)
    .option('--seed <n>', 'seed of the property runs', nonNegativeInt)
    .option('--keep', 'leave the control plane running afterwards', false)
    .action(async (opts: { runs: number; seed?: number; keep: boolean }) => {
      // Loaded here: it brings the test support along, which only this scenario needs.
      const { runSecurityChecks } = await import('../../test/support/security.ts');
      await report('security', { runs: opts.runs }, opts, async (env, progress) => {
        const namespace = `chaos-security-${suffix()}`;
        await createNamespace(env.kube, namespace);
        try {
          return await runSecurityChecks({
            kube: env.kube,
            namespace,
            cluster: env.cluster,
            runs: opts.runs,
            ...(opts.seed === undefined ? {} : { seed: opts.seed }),
            progress: (line) => progress.info(line),
          });
        } finally {
          await deleteNamespace(env.kube, namespace);
        }
      });
    });
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .then(
    () => process.exit(process.exitCode ?? 0),
    (error: unknown) => {
      process.stderr.write(
        `chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
