import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, spawnSluice } from '../src/dev/stack.ts';
import type { ControllerKind } from './fixtures.ts';
import type { BenchEnv } from './harness.ts';
import { parsePrometheusText, type Sample } from './prom-text.ts';

// The controllers under test, each as its own process the way users run it, watching one
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
): Promise<ControllerProcess> {
  return kind === 'sluice' ? startSluice(env, namespace, extraArgs) : startFlagger(env, namespace, extraArgs);
}

async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`controller /metrics on port ${port}: HTTP ${response.status}`);
  return parsePrometheusText(await response.text());
}

async function startSluice(
  env: BenchEnv,
  namespace: string,
  extraArgs: string[],
): Promise<ControllerProcess> {
  const port = await freePort();
  const child = await spawnSluice({
    name: `sluice-${namespace}`,
    args: [
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
    logDir: env.logDir,
    port,
    readyPath: '/readyz',
  });
  if (child.child.pid === undefined) throw new Error('sluice controller: no pid');
  return {
    kind: 'sluice',
    pid: child.child.pid,
    port,
    logFile: child.logFile,
    metrics: () => scrape(port),
    stop: () => child.stop(),
  };
}

async function startFlagger(
  env: BenchEnv,
  namespace: string,
  extraArgs: string[],
): Promise<ControllerProcess> {
  if (!env.flagger) throw new Error('Flagger was not built for this run (--vs flagger)');
  const port = await freePort();
  const logFile = join(env.logDir, `flagger-${namespace}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
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
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  if (child.pid === undefined) throw new Error(`could not start ${env.flagger.binary}`);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`flagger exited at start:\n${(await readFile(logFile, 'utf8')).slice(-3000)}`);
    }
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`flagger not healthy on port ${port} after 60s; log: ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { kind: 'flagger', pid: child.pid, port, logFile, metrics: () => scrape(port), stop };
}
