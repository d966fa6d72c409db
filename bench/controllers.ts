import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { run } from '../src/dev/binaries.ts';
import type { Progress } from '../src/dev/progress.ts';
import { freePort } from '../src/dev/stack.ts';
import type { ControllerKind } from './fixtures.ts';
import type { BenchEnv } from './harness.ts';
import { parsePrometheusText, type Sample } from './prom-text.ts';

// The controllers under test, each as its own process the way users run it (Sluice: the
// compiled CLI under Node with the image's flags; Flagger: its binary), watching one
// namespace, with the same Prometheus, mesh provider and log level.

export interface ControllerProcess {
  kind: ControllerKind;
  pid: number;
  port: number;
  logFile: string;
  /** The controller's own /metrics. */
  metrics(): Promise<Sample[]>;
  stop(): Promise<void>;
}

export async function startController(
  env: BenchEnv,
  kind: ControllerKind,
  namespace: string,
  extraArgs: string[] = [],
  options: { pollMs?: number } = {},
): Promise<ControllerProcess> {
  // BENCH_SLUICE_ARGS / BENCH_FLAGGER_ARGS add controller flags, to try settings (recorded in the result).
  const fromEnv = (process.env[kind === 'sluice' ? 'BENCH_SLUICE_ARGS' : 'BENCH_FLAGGER_ARGS'] ?? '')
    .split(/\s+/)
    .filter(Boolean);
  const args = [...fromEnv, ...extraArgs];
  return kind === 'sluice'
    ? startSluice(env, namespace, args, options.pollMs)
    : startFlagger(env, namespace, args);
}

async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`controller /metrics on port ${port}: HTTP ${response.status}`);
  return parsePrometheusText(await response.text());
}

/**
 * Node flags of the controller as the image runs it (Dockerfile ENTRYPOINT): a 16 MB young
 * generation instead of V8's default for a large machine (64 MB semi-spaces, 128 MB resident).
 */
export const CONTROLLER_NODE_FLAGS = ['--max-semi-space-size=16'];

/**
 * What the pod adds (deploy/base, the chart): Node sizes V8's old generation at a quarter of
 * the container's memory limit, 768Mi there, so 192 MB; this machine sets no limit (Node
 * would take a quarter of its 24 GB and collect garbage that lazily), so the benchmark
 * passes it. And the manifests' MALLOC_ARENA_MAX=2.
 */
export const CONTAINER_NODE_FLAGS = ['--max-old-space-size=192'];
export const CONTAINER_ENV = { MALLOC_ARENA_MAX: '2' };

/** BENCH_NODE_FLAGS="…" replaces them all, to try other settings (the result records what ran). */
export function controllerNodeFlags(): string[] {
  const override = process.env.BENCH_NODE_FLAGS;
  if (override === undefined) return [...CONTROLLER_NODE_FLAGS, ...CONTAINER_NODE_FLAGS];
  return override.split(/\s+/).filter(Boolean);
}

/** Compiles Sluice (tsconfig.build.json) into a private directory: users run dist/, not the sources. */
export async function buildSluice(progress: Progress): Promise<string> {
  const root = resolve('.sluice', 'bench-build');
  await progress.step('compiling Sluice (tsc -p tsconfig.build.json)', async () => {
    await rm(root, { recursive: true, force: true });
    await run(resolve('node_modules', '.bin', 'tsc'), [
      '-p',
      'tsconfig.build.json',
      '--outDir',
      join(root, 'dist'),
    ]);
    await mkdir(join(root, 'bin'), { recursive: true });
    await copyFile(resolve('bin', 'sluice.js'), join(root, 'bin', 'sluice.js'));
  });
  return join(root, 'bin', 'sluice.js');
}

async function startSluice(
  env: BenchEnv,
  namespace: string,
  extraArgs: string[],
  pollMs?: number,
): Promise<ControllerProcess> {
  const port = await freePort();
  return spawnController(
    env,
    'sluice',
    namespace,
    port,
    process.execPath,
    [
      ...controllerNodeFlags(),
      env.sluiceEntry,
      'controller',
      '--kubeconfig',
      env.kubeconfigs.sluice,
      '-n',
      namespace,
      '--no-leader-elect',
      '--mesh-provider',
      'istio',
      '--metrics-server',
      env.cluster.prometheusUrl,
      '--port',
      String(port),
      '--log-level',
      'info',
      ...extraArgs,
    ],
    '/readyz',
    CONTAINER_ENV,
    pollMs,
  );
}

async function startFlagger(
  env: BenchEnv,
  namespace: string,
  extraArgs: string[],
): Promise<ControllerProcess> {
  if (!env.flagger) throw new Error('Flagger was not built for this run (--vs flagger)');
  const port = await freePort();
  return spawnController(
    env,
    'flagger',
    namespace,
    port,
    env.flagger.binary,
    [
      `-kubeconfig=${env.kubeconfigs.flagger}`,
      `-namespace=${namespace}`,
      '-mesh-provider=istio',
      `-metrics-server=${env.cluster.prometheusUrl}`,
      `-port=${port}`,
      '-log-level=info',
      ...extraArgs,
    ],
    '/healthz',
  );
}

/** Starts a controller process, its output in a log file, and waits until `healthPath` answers. */
async function spawnController(
  env: BenchEnv,
  kind: ControllerKind,
  namespace: string,
  port: number,
  command: string,
  args: string[],
  healthPath: string,
  extraEnv: Record<string, string> = {},
  /** How often to ask `healthPath` while the process starts (the startup bench times it). */
  pollMs = 200,
): Promise<ControllerProcess> {
  const logFile = join(env.logDir, `${kind}-${namespace}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...extraEnv },
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  let watched = false;
  // A controller that dies mid-run (out of heap, a crash) says so with the end of its log,
  // before the bench fails on its missing process and removes the log with the cluster.
  child.on('exit', (code, signal) => {
    if (!watched) return;
    void readFile(logFile, 'utf8').then(
      (text) =>
        process.stderr.write(
          `\n${kind} (pid ${child.pid}) exited during the run (${signal ?? `exit code ${code}`}); the end of its log:\n${text.slice(-3000)}\n`,
        ),
      () => undefined,
    );
  });
  const stop = async () => {
    watched = false;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${kind} exited at start:\n${(await readFile(logFile, 'utf8')).slice(-3000)}`);
    }
    const ok = await fetch(`http://127.0.0.1:${port}${healthPath}`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) {
      watched = true;
      break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${kind} not healthy on port ${port} after 60s; log: ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return { kind, pid: child.pid, port, logFile, metrics: () => scrape(port), stop };
}
