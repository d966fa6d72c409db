import { startController, type ControllerProcess } from './controllers.ts';
import { canary, deployment, type AnalysisOptions, type ControllerKind } from './fixtures.ts';
import { applyAll, createNamespace, deleteNamespace, type BenchEnv } from './harness.ts';
import { CanaryObserver, until } from './observer.ts';
import { ProcessMonitor } from './proc.ts';

// What every benchmark starts from: a namespace with N Deployments and N Canaries, one
// controller process watching it, every canary Initialized (bootstrapped, nothing to do),
// the exporter serving healthy traffic for each workload, and a settling pause.

export interface Fleet {
  kind: ControllerKind;
  namespace: string;
  names: string[];
  controller: ControllerProcess;
  monitor: ProcessMonitor;
  observer: CanaryObserver;
  /** From creating the Canaries until all were Initialized. */
  initSeconds: number;
  /** The controller's RSS once ready, before the first Canary (the Deployments already cached). */
  startRssBytes: number;
  /** Applies the Deployment with another pod template (a new revision); returns when each apply returned. */
  revise(names: readonly string[], revision: number, title: string): Promise<number[]>;
  /** Stops the controller and deletes the namespace (unless told not to: the control plane goes next). */
  teardown(options?: { deleteNamespace?: boolean }): Promise<void>;
}

const INITIALIZED = new Set(['Initialized']);

export async function startFleet(
  env: BenchEnv,
  options: {
    kind: ControllerKind;
    namespace: string;
    names: string[];
    analysis: AnalysisOptions;
    initTimeoutS: number;
    warmupS: number;
    concurrency: number;
    /** The workloads whose Istio series the exporter serves (default: all); only analysed ones need them. */
    exported?: readonly string[];
  },
): Promise<Fleet> {
  const { progress, kube } = env;
  const { kind, namespace, names } = options;
  const n = names.length;
  await createNamespace(kube, namespace);
  env.exporter.add(namespace, options.exported ?? names);
  await applyAll(
    kube,
    names.map((name) => deployment(namespace, name, 0)),
    progress,
    `creating ${n} Deployments in ${namespace}`,
    options.concurrency,
  );
  let controller: ControllerProcess | undefined;
  const observer = new CanaryObserver(kube, kind, namespace);
  const teardown = async (deleting = true) => {
    await observer.stop().catch(() => undefined);
    await controller?.stop();
    env.exporter.removeNamespace(namespace);
    if (deleting) await deleteNamespace(kube, namespace, progress);
  };
  try {
    controller = await progress.step(`starting ${kind}`, () => startController(env, kind, namespace));
    const monitor = new ProcessMonitor(controller.pid);
    monitor.start(1000);
    const startRssBytes = (await monitor.sample()).rssBytes;
    await observer.start();
    const initStarted = Date.now();
    await applyAll(
      kube,
      names.map((name) => canary(kind, namespace, name, options.analysis)),
      progress,
      `creating ${n} Canaries`,
      options.concurrency,
    );
    const initialized = await progress.step(`waiting for ${n} canaries to be Initialized`, (update) =>
      until(() => observer.count(names, INITIALIZED) === n, options.initTimeoutS * 1000, {
        everyMs: 1000,
        onPoll: () => update(`${observer.count(names, INITIALIZED)}/${n}`),
      }),
    );
    if (!initialized) {
      throw new Error(
        `${kind}: only ${observer.count(names, INITIALIZED)}/${n} canaries Initialized after ${options.initTimeoutS}s; controller log: ${controller.logFile}`,
      );
    }
    const initSeconds = (Date.now() - initStarted) / 1000;
    await progress.step(
      `warm-up ${options.warmupS}s (not measured)`,
      () => new Promise((r) => setTimeout(r, options.warmupS * 1000)),
    );
    return {
      kind,
      namespace,
      names,
      controller,
      monitor,
      observer,
      initSeconds,
      startRssBytes,
      revise: (which, revision, title) =>
        applyAll(
          kube,
          which.map((name) => deployment(namespace, name, revision)),
          progress,
          title,
          options.concurrency,
        ),
      async teardown(options = {}) {
        monitor.stop();
        await teardown(options.deleteNamespace ?? true);
      },
    };
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
}
