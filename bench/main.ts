import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { consoleProgress, type Progress } from '../src/dev/progress.ts';
import { allocatorArgs, clusterIpRun, type Allocator, type ClusterIpOptions } from './clusterip.ts';
import { buildSluice, CONTAINER_ENV, controllerNodeFlags } from './controllers.ts';
import { flag, INTERVAL, KEEP, nonNegativeInt, positiveInt, withFlags } from './flags.ts';
import type { ControllerKind } from './fixtures.ts';
import { startBenchEnv, type BenchEnv } from './harness.ts';
import { idleNodes, idleRun, type IdleOptions, type IdleRun } from './idle.ts';
import { importRows, importsTable, measureImports } from './imports.ts';
import { figureRows, keyFigures, runJudgeBench, type Scenario } from './judge.ts';
import { loadAverage } from './proc.ts';
import {
  compareFigures,
  keyValueLine,
  medianFigures,
  rowsOf,
  table,
  writeResult,
  type Figures,
} from './report.ts';
import { promqRun, promqTable, type PromqOptions } from './promq.ts';
import { rollbackRun, type RollbackOptions, type RollbackRun } from './rollback.ts';
import { scaleRun, type ScaleOptions, type ScaleRun } from './scale.ts';
import { startupRun, type StartupOptions, type StartupRun } from './startup.ts';

// `npm run bench -- <scale|rollback-latency|idle|startup|imports|judge|promq|clusterip> [flags]`: each benchmark but
// `imports`, `judge` and `promq`
// brings up its own local control plane in .sluice/bench-<name>; every one prints progress on
// stderr, a table and — as the very last line on stdout — one line of key=value figures, and
// writes the full result as JSON under bench/results/.

const RESULTS_DIR = resolve('bench', 'results');

const countList = (value: string) => value.split(',').map((part) => positiveInt(part.trim()));

interface CommonFlags {
  vs?: 'flagger';
  keep: boolean;
  rounds: number;
}

const WARMUP = flag('--warmup <seconds>', 'settling time after bootstrap, not measured', 30, positiveInt);
const COMMON = {
  vs: {
    ...flag<'flagger' | undefined>(
      '--vs <controller>',
      'also run the same benchmark with this controller, alternately',
      undefined,
    ),
    choices: ['flagger'],
  },
  keep: KEEP,
  rounds: flag('--rounds <n>', 'repeat each configuration (medians are reported)', 1, positiveInt),
};

/** The controllers of a run, alternating which goes first from round to round. */
function order(round: number, vs: 'flagger' | undefined): ControllerKind[] {
  if (!vs) return ['sluice'];
  return round % 2 === 0 ? ['sluice', 'flagger'] : ['flagger', 'sluice'];
}

async function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    controllerNodeFlags: controllerNodeFlags(),
    controllerEnv: CONTAINER_ENV,
    sluiceArgs: process.env.BENCH_SLUICE_ARGS ?? '',
    flaggerArgs: process.env.BENCH_FLAGGER_ARGS ?? '',
    loadAtStart: await loadAverage(),
  };
}

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Medians over rounds per controller, the table and the key=value line of one configuration. */
function summarise<R extends { controller: ControllerKind; figures: Figures }>(
  runs: readonly R[],
  title: string,
  bench: string,
  labels: Record<string, string | number>,
): { sluice: Figures; flagger: Figures | undefined; line: string } {
  const of = (kind: ControllerKind) =>
    runs.filter((run) => run.controller === kind).map((run) => run.figures);
  const sluice = medianFigures(of('sluice'));
  const flaggerRuns = of('flagger');
  const flagger = flaggerRuns.length ? medianFigures(flaggerRuns) : undefined;
  print(table(title, rowsOf(sluice, flagger)));
  print();
  return { sluice, flagger, line: keyValueLine(bench, labels, compareFigures(sluice, flagger)) };
}

/** Writes a benchmark's JSON under bench/results/ (when, on what machine, the rest as given) and says where. */
async function saveResult(
  progress: Progress,
  bench: string,
  started: Date,
  host: Awaited<ReturnType<typeof machine>>,
  fields: Record<string, unknown>,
): Promise<void> {
  const path = await writeResult(RESULTS_DIR, bench, {
    bench,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine: host,
    ...fields,
  });
  progress.info(`results: ${path}`);
}

async function runScale(
  flags: CommonFlags & { canaries: number[] } & Omit<ScaleOptions, 'analysis'> & {
      interval: string;
      stepWeight: number;
      maxWeight: number;
      threshold: number;
    },
): Promise<void> {
  const progress = consoleProgress();
  const started = new Date();
  const host = await machine();
  const largest = Math.max(...flags.canaries);
  const env = await startBenchEnv({
    name: 'scale',
    progress,
    withFlagger: flags.vs === 'flagger',
    keep: flags.keep,
    nodes: Math.max(2, Math.ceil((largest * 3) / 4000)),
  });
  const options: ScaleOptions = {
    analysis: {
      interval: flags.interval,
      threshold: flags.threshold,
      stepWeight: flags.stepWeight,
      maxWeight: flags.maxWeight,
    },
    warmupS: flags.warmupS,
    timeoutS: flags.timeoutS,
    initTimeoutS: flags.initTimeoutS,
    concurrency: flags.concurrency,
  };
  const runs: ScaleRun[] = [];
  const lines: string[] = [];
  const summaries: Record<string, unknown> = {};
  try {
    for (const n of flags.canaries) {
      for (let round = 0; round < flags.rounds; round += 1) {
        for (const kind of order(round, flags.vs)) runs.push(await scaleRun(env, kind, n, round, options));
      }
      const ofN = runs.filter((run) => run.n === n);
      const loads = ofN.map((run) => run.load[0]).join(', ');
      const summary = summarise(
        ofN,
        `scale: ${n} canaries, interval ${flags.interval}, step ${flags.stepWeight}% to ${flags.maxWeight}% (median of ${flags.rounds} round(s); load1 at start: ${loads})`,
        'scale',
        { n },
      );
      summaries[String(n)] = summary;
      lines.push(summary.line);
    }
  } finally {
    await env.stop();
  }
  await saveResult(progress, 'scale', started, host, { flags, options, summaries, runs });
  for (const line of lines) print(line);
}

/**
 * A benchmark of one configuration (rollback-latency, idle, startup): its own control plane, the
 * controllers alternately for each round, the medians, the JSON result and the key=value line.
 */
async function runEach<R extends { controller: ControllerKind; figures: Figures; load: number[] }>(
  bench: 'rollback-latency' | 'idle' | 'startup',
  flags: CommonFlags,
  runOne: (env: BenchEnv, kind: ControllerKind, round: number, last: boolean) => Promise<R>,
  title: (loads: string) => string,
  labels: Record<string, string | number>,
  /** Simulated nodes (kwok), 5000 pods each. */
  nodes = 2,
): Promise<void> {
  const progress = consoleProgress();
  const started = new Date();
  const host = await machine();
  const env = await startBenchEnv({
    name: bench,
    progress,
    withFlagger: flags.vs === 'flagger',
    keep: flags.keep,
    nodes,
  });
  const runs: R[] = [];
  let summary;
  try {
    for (let round = 0; round < flags.rounds; round += 1) {
      const kinds = order(round, flags.vs);
      for (const [i, kind] of kinds.entries()) {
        const last = round === flags.rounds - 1 && i === kinds.length - 1;
        runs.push(await runOne(env, kind, round, last));
      }
    }
    summary = summarise(runs, title(runs.map((r) => r.load[0]).join(', ')), bench, labels);
  } finally {
    await env.stop();
  }
  await saveResult(progress, bench, started, host, { flags, summary, runs });
  print(summary.line);
}

const runRollback = (flags: CommonFlags & RollbackOptions) =>
  runEach<RollbackRun>(
    'rollback-latency',
    flags,
    (env, kind, round) => rollbackRun(env, kind, round, flags),
    (loads) =>
      `rollback-latency: ${flags.repetitions} repetitions, interval ${flags.interval}, threshold ${flags.threshold}, error ratio ${flags.errorRatio} at ${flags.stepWeight}% (load1 at start: ${loads})`,
    { threshold: flags.threshold, interval: flags.interval },
  );

const runIdle = (flags: CommonFlags & IdleOptions) =>
  runEach<IdleRun>(
    'idle',
    flags,
    // The last run leaves its namespace to the control plane's teardown: at 10 000 canaries the
    // namespace controller takes many minutes to delete what the bootstrap made.
    (env, kind, round, last) => idleRun(env, kind, round, { ...flags, keepNamespace: last }),
    (loads) =>
      `idle: ${flags.canaries} Initialized canaries, ${flags.durationS}s measured after ${flags.warmupS}s warm-up (load1 at start: ${loads})`,
    { n: flags.canaries },
    idleNodes(flags.canaries),
  );

const runStartup = (flags: CommonFlags & StartupOptions) =>
  runEach<StartupRun>(
    'startup',
    flags,
    (env, _kind, round) => startupRun(env, round, flags),
    (loads) =>
      `startup: the controller with nothing to reconcile, ${flags.idleS}s idle (median of ${flags.rounds} round(s); load1 at start: ${loads})`,
    {},
  );

async function runClusterIp(flags: ClusterIpOptions): Promise<void> {
  const progress = consoleProgress();
  const started = new Date();
  const host = await machine();
  const figures = await clusterIpRun(flags, progress);
  const title = `clusterip: ${flags.services} Services with the ${flags.allocator} allocator, ${flags.deployments} Deployments applied beside them (load1 at start: ${host.loadAtStart.join(' ')})`;
  print(table(title, rowsOf(figures)));
  print();
  await saveResult(progress, 'clusterip', started, host, {
    flags,
    apiserverArgs: allocatorArgs(flags.allocator),
    figures,
  });
  print(keyValueLine('clusterip', { allocator: flags.allocator, n: flags.services }, figures));
}

async function runImports(flags: { rounds: number }): Promise<void> {
  const progress = consoleProgress();
  const started = new Date();
  const host = await machine();
  const entry = await buildSluice(progress);
  const rows = [];
  for (const row of importRows(entry)) {
    const figures = await progress.step(`importing ${row.name}`, () =>
      measureImports(process.cwd(), row, flags.rounds),
    );
    rows.push({ ...row, figures });
  }
  print(
    `imports: a fresh Node process per row, flags ${controllerNodeFlags().join(' ')} (median of ${flags.rounds})`,
  );
  print(importsTable(rows));
  print();
  await saveResult(progress, 'imports', started, host, { flags, rows });
  const bare = rows[0]?.figures;
  const cli = rows.at(-1)?.figures;
  if (bare && cli) {
    print(
      keyValueLine(
        'imports',
        {},
        {
          rss_bare_mb: bare.rss_mb,
          rss_cli_mb: cli.rss_mb,
          heap_cli_mb: cli.heap_used_mb,
          modules_cli: cli.modules,
        },
      ),
    );
  }
}

async function runJudge(flags: { trials: number; seed: number; scenarios: Scenario[] }): Promise<void> {
  const progress = consoleProgress();
  const started = new Date();
  const host = await machine();
  const results = await runJudgeBench({ ...flags, onProgress: (text) => progress.info(text) });
  const lines: string[] = [];
  for (const scenario of flags.scenarios) {
    const title =
      scenario === 'target'
        ? 'judge vs fixed rule: canary 10 % of 100 req/s, 0.5 % baseline errors'
        : 'judge vs fixed rule: 20–200 req/s, canary 5–50 %, 0.1–1 % baseline errors';
    print(`${title} (${flags.trials} trials per case, seed ${flags.seed})`);
    for (const row of figureRows(results[scenario])) print(row);
    print();
    lines.push(
      keyValueLine(
        'judge',
        { scenario, trials: flags.trials, seed: flags.seed },
        keyFigures(results[scenario]),
      ),
    );
  }
  await saveResult(progress, 'judge', started, host, { flags, results });
  // The target scenario's figures (the ones with targets) are the very last line.
  for (const line of [...lines].sort((a) => (a.includes('scenario=target') ? 1 : -1))) print(line);
}

async function runPromq(flags: PromqOptions): Promise<void> {
  const progress = consoleProgress();
  const started = new Date();
  const host = await machine();
  const result = await promqRun(flags, progress);
  const load = (await loadAverage())[0] ?? Number.NaN;
  print(
    promqTable(
      `promq: one ${flags.interval} interval's built-in checks (success rate, p99) for ${flags.canaries} canaries, own queries at concurrency ${flags.concurrency} vs batched (median of ${flags.rounds} round(s); load1 after: ${load})`,
      result,
    ),
  );
  print();
  await saveResult(progress, 'promq', started, host, { flags, result });
  print(keyValueLine('promq', { n: flags.canaries }, result.figures));
}

export function buildProgram(): Command {
  const program = new Command('bench').description('Sluice benchmarks on the local control plane');
  withFlags(
    program
      .command('scale')
      .description('N canaries on one controller, then a new revision for all N at once'),
    {
      canaries: flag('--canaries <list>', 'comma-separated counts', [100, 500, 1000], countList),
      interval: INTERVAL,
      stepWeight: flag('--step-weight <percent>', 'spec.analysis.stepWeight', 10, positiveInt),
      maxWeight: flag('--max-weight <percent>', 'spec.analysis.maxWeight', 50, positiveInt),
      threshold: flag('--threshold <n>', 'spec.analysis.threshold', 5, positiveInt),
      warmupS: WARMUP,
      timeoutS: flag('--timeout <seconds>', 'give up on unfinished rollouts after', 900, positiveInt),
      initTimeoutS: flag(
        '--init-timeout <seconds>',
        'give up waiting for Initialized canaries after',
        1200,
        positiveInt,
      ),
      concurrency: flag('--concurrency <n>', 'parallel object writes while setting up', 16, positiveInt),
      ...COMMON,
    },
    runScale,
  );

  withFlags(
    program
      .command('rollback-latency')
      .description('a canary at 20 % whose error rate jumps: time until the route sends 0 % to it'),
    {
      repetitions: flag('--repetitions <n>', 'rollbacks per controller', 10, positiveInt),
      interval: INTERVAL,
      threshold: flag('--threshold <n>', 'spec.analysis.threshold', 1, positiveInt),
      stepWeight: flag('--step-weight <percent>', 'the weight at which errors start', 20, positiveInt),
      errorRatio: flag('--error-ratio <ratio>', 'share of 5xx from the failure instant on', 0.5, Number),
      ...COMMON,
    },
    runRollback,
  );

  withFlags(
    program.command('idle').description('N Initialized canaries with nothing to do: the controller at rest'),
    {
      canaries: flag('--canaries <n>', 'how many', 100, positiveInt),
      durationS: flag('--duration <seconds>', 'measured idling', 180, positiveInt),
      warmupS: WARMUP,
      interval: INTERVAL,
      afterS: flag(
        '--after <seconds>',
        'measured after the apiserver restart and after the cold start',
        60,
        positiveInt,
      ),
      ...COMMON,
    },
    runIdle,
  );
  withFlags(
    program
      .command('startup')
      .description('the controller started with nothing to reconcile: time to ready, memory at idle'),
    {
      keep: KEEP,
      rounds: flag('--rounds <n>', 'repeat (medians are reported)', 5, positiveInt),
      idleS: flag('--idle <seconds>', 'idle time after ready, measured', 30, positiveInt),
    },
    runStartup,
  );
  withFlags(
    program
      .command('imports')
      .description(
        "what importing each dependency and Sluice's own modules costs a fresh process (no cluster)",
      ),
    { rounds: flag('--rounds <n>', 'processes per row (medians are reported)', 3, positiveInt) },
    runImports,
  );
  withFlags(
    program
      .command('promq')
      .description(
        "one interval's built-in Prometheus checks for N canaries: each canary's own queries vs one batched query per metric",
      ),
    {
      canaries: flag('--canaries <n>', 'how many (the last one has no series: no data)', 1000, positiveInt),
      rounds: flag('--rounds <n>', 'repeat each mode (medians are reported)', 3, positiveInt),
      interval: flag('--interval <duration>', "the metrics' interval ([range])", '1m'),
      concurrency: flag(
        '--concurrency <n>',
        'canaries analysed at once (the controller reconciles 32)',
        32,
        positiveInt,
      ),
      windowMs: flag('--window <ms>', "the batcher's window", 250, positiveInt),
      scrapeS: flag('--scrape-interval <seconds>', "Prometheus' scrape interval", 5, positiveInt),
      warmupS: flag(
        '--warmup <seconds>',
        "time to fill the metrics' window before measuring",
        65,
        positiveInt,
      ),
      keep: flag('--keep', 'leave Prometheus running afterwards', false),
    },
    runPromq,
  );
  withFlags(
    program
      .command('clusterip')
      .description('the control plane creating ClusterIP Services, alone or beside a bootstrap'),
    {
      services: flag('--services <n>', 'how many ClusterIP Services', 1500, positiveInt),
      deployments: flag(
        '--deployments <n>',
        'Deployments applied beside them, 32 at once',
        4000,
        nonNegativeInt,
      ),
      concurrency: flag('--concurrency <n>', 'Services applied at once', 32, positiveInt),
      allocator: {
        ...flag<Allocator>('--allocator <name>', 'the ClusterIP allocator', 'bitmap'),
        choices: ['bitmap', 'ipaddress'],
      },
      keep: KEEP,
    },
    runClusterIp,
  );
  program
    .command('judge')
    .description('the statistical judge against the fixed-threshold rule on generated traffic of known truth')
    .option('--trials <n>', 'trials per case and scenario', positiveInt, 1000)
    .option('--seed <n>', 'seed of the first trial (trial i uses seed + i)', positiveInt, 1)
    .addOption(
      new Option('--scenario <name...>', 'target: 10 % of 100 req/s at 0.5 % errors; mixed: random traffic')
        .choices(['target', 'mixed'])
        .default(['target', 'mixed']),
    )
    .action(async (opts: { trials: number; seed: number; scenario: Scenario[] }) => {
      await runJudge({ trials: opts.trials, seed: opts.seed, scenarios: opts.scenario });
    });
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
