import { spawn } from 'node:child_process';
import { CONTAINER_ENV, controllerNodeFlags, startController } from './controllers.ts';
import { createNamespace, deleteNamespace, type BenchEnv } from './harness.ts';
import { loadAverage } from './proc.ts';
import { ProcessMonitor } from './proc.ts';
import type { Figures } from './report.ts';
import { median } from './stats.ts';
import { MB } from './window.ts';

// `startup`: what starting the controller costs, with nothing to reconcile. Three figures:
// - load_ms: `sluice --version` from spawn to exit (loading the CLI's module graph, no cluster);
// - startup_ms: `sluice controller` from spawn until /readyz answers 200 (informers synced);
// - rss_mb: the controller's resident memory at idle (median of the samples in the second
//   half of the idle time), and rss_peak_mb (VmHWM at the end).

export interface StartupOptions {
  /** Idle time after ready, seconds. */
  idleS: number;
}

export interface StartupRun {
  controller: 'sluice';
  round: number;
  load: number[];
  figures: Figures;
}

/** Wall time of `node <flags> <entry> --version`, ms. */
async function versionLoadMs(entry: string): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [...controllerNodeFlags(), entry, '--version'], {
      stdio: 'ignore',
      env: { ...process.env, ...CONTAINER_ENV },
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`sluice --version exited ${code}`)),
    );
  });
  return performance.now() - started;
}

export async function startupRun(env: BenchEnv, round: number, options: StartupOptions): Promise<StartupRun> {
  const { progress, kube } = env;
  const namespace = `startup-${round}`;
  const load = await loadAverage();
  progress.info(`— startup: round ${round + 1} (load ${load.join(' ')})`);
  const loadMs = await versionLoadMs(env.sluiceEntry);
  await createNamespace(kube, namespace);
  const started = performance.now();
  const controller = await startController(env, 'sluice', namespace, [], { pollMs: 10 });
  const startupMs = performance.now() - started;
  const monitor = new ProcessMonitor(controller.pid);
  try {
    monitor.start(1000);
    const idleFrom = Date.now();
    await progress.step(
      `idling ${options.idleS}s`,
      () => new Promise((r) => setTimeout(r, options.idleS * 1000)),
    );
    const last = await monitor.sample();
    const halfway = idleFrom + (options.idleS * 1000) / 2;
    const rss = monitor.samples.filter((s) => s.at >= halfway).map((s) => s.rssBytes);
    return {
      controller: 'sluice',
      round,
      load,
      figures: {
        load_ms: loadMs,
        startup_ms: startupMs,
        rss_mb: median(rss) / MB,
        rss_peak_mb: last.peakRssBytes / MB,
      },
    };
  } finally {
    monitor.stop();
    await controller.stop();
    await deleteNamespace(kube, namespace, progress);
  }
}
