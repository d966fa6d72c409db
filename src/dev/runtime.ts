// The local runtime: kwok pods are not processes, so for every Running+Ready pod of a demo
// workload (pod template label `demo.sluice.dev/app: "true"`) this runs a real demo-app
// process on a loopback port, with the environment the pod's first container would get,
// and registers it with Prometheus like a scraped pod. Together with the traffic layer
// (traffic.ts) it makes the demo's traffic real HTTP end to end. Development tooling.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectionPath, Informer } from '../controller/informers.ts';
import { connect, isNotFound, loadKubeConfig, type Kube } from '../kube/client.ts';
import { silentLogger, type Logger } from '../log.ts';
import { imageTag, isDemoPod, podSchema, podServing, resolvePodEnv, scrapeLabels } from './pods.ts';
import { workloadOf, type ConfigLookup, type Pod } from './pods.ts';
import { ProcessRegistry, type PodProcess } from './registry.ts';
import { ScrapeTargets } from './targets.ts';
import {
  ClusterRoutes,
  MeshMetrics,
  startMetricsServer,
  startProxy,
  type ProxySpec,
  type RunningProxy,
} from './traffic.ts';

export { DEMO_APP_LABEL } from './pods.ts';

/** How to start one demo-app process. */
export interface AppLaunch {
  command: string;
  args: string[];
  cwd: string;
}

// Small heaps: several app processes run at once on a developer's machine.
const APP_NODE_FLAGS = ['--max-old-space-size=96', '--max-semi-space-size=2'];

/**
 * The command that runs the demo app. From compiled output it is `node app.js`. From the
 * sources, the runtime strips app.ts's types once and passes the JavaScript with `-e`: a
 * child that loaded the .ts file itself would pay ~17 MB for Node's type stripper.
 */
export async function demoAppLaunch(): Promise<AppLaunch> {
  const here = fileURLToPath(import.meta.url);
  const dir = dirname(here);
  const compiled = join(dir, 'app.js');
  if (here.endsWith('.js') && existsSync(compiled)) {
    return { command: process.execPath, args: [...APP_NODE_FLAGS, compiled], cwd: dir };
  }
  const source = join(dir, 'app.ts');
  const nodeModule = (await import('node:module')) as { stripTypeScriptTypes?: (code: string) => string };
  if (!nodeModule.stripTypeScriptTypes)
    return { command: process.execPath, args: [...APP_NODE_FLAGS, source], cwd: dir };
  const text = await readFile(source, 'utf8');
  // stripTypeScriptTypes warns that it is experimental; the warning means nothing to a demo user.
  const emitWarning = process.emitWarning;
  process.emitWarning = (() => undefined) as typeof process.emitWarning;
  let stripped: string;
  try {
    stripped = nodeModule.stripTypeScriptTypes(text);
  } finally {
    process.emitWarning = emitWarning;
  }
  // `-e` modules resolve imports from the working directory: the app's own folder.
  return {
    command: process.execPath,
    args: [...APP_NODE_FLAGS, '--input-type=module', '-e', `${stripped}\nawait runApp();\n`],
    cwd: dir,
  };
}

export interface PodRuntimeDeps {
  kube: Kube;
  registry: ProcessRegistry;
  /** App scrape targets (file_sd); a ScrapeTargets without a directory registers nothing. */
  targets: ScrapeTargets;
  launch: AppLaunch;
  /** Process logs go to `<logDir>/<namespace>_<pod>.log`. */
  logDir: string;
  log: Logger;
  /** Watch one namespace (default: all). */
  namespace?: string;
  /** Secret and ConfigMap reads for env resolution (default: the apiserver). */
  lookup?: ConfigLookup;
}

interface Managed {
  uid: string;
  entry: PodProcess;
  child?: ChildProcess;
  stopping: boolean;
  retry?: NodeJS.Timeout;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Reads ConfigMaps and Secrets from the apiserver at process start (as the kubelet does). */
export function apiserverLookup(kube: Kube): ConfigLookup {
  const orUndefined = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  return {
    configMap: async (namespace, name) => {
      const cm = await orUndefined(() => kube.core.readNamespacedConfigMap({ name, namespace }));
      return cm ? { ...cm.data } : undefined;
    },
    secret: async (namespace, name) => {
      const secret = await orUndefined(() => kube.core.readNamespacedSecret({ name, namespace }));
      if (!secret) return undefined;
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([key, value]) => [
          key,
          Buffer.from(value, 'base64').toString('utf8'),
        ]),
      );
    },
  };
}

/**
 * Runs one demo-app process per serving demo pod, and stops it when the pod stops
 * serving or goes away. A process that exits while its pod still serves is restarted
 * with backoff, like a container.
 */
export class PodRuntime {
  readonly #deps: PodRuntimeDeps;
  readonly #lookup: ConfigLookup;
  readonly #managed = new Map<string, Managed>();
  readonly #queues = new Map<string, Promise<void>>();
  /** Failures so far per pod (by uid), so backoff grows across attempts. */
  readonly #restarts = new Map<string, { uid: string; count: number }>();
  #informer: Informer<{ metadata?: { name?: string; namespace?: string } }> | undefined;
  #stopped = false;

  constructor(deps: PodRuntimeDeps) {
    this.#deps = deps;
    this.#lookup = deps.lookup ?? apiserverLookup(deps.kube);
  }

  async start(): Promise<void> {
    await mkdir(this.#deps.logDir, { recursive: true });
    this.#informer = new Informer(
      this.#deps.kube,
      collectionPath('', 'v1', 'pods', this.#deps.namespace),
      this.#deps.log,
      (_event, object) => {
        const { name, namespace } = object.metadata ?? {};
        if (name && namespace) this.#schedule(namespace, name);
      },
    );
    await this.#informer.start();
  }

  /** Serialises the work for one pod; events only say "look again". */
  #schedule(namespace: string, name: string): void {
    if (this.#stopped) return;
    const key = `${namespace}/${name}`;
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.#reconcile(namespace, name))
      .catch((error: unknown) =>
        this.#deps.log.error({ err: error, pod: key }, 'reconciling a demo pod failed'),
      );
    this.#queues.set(key, next);
    void next.finally(() => {
      if (this.#queues.get(key) === next) this.#queues.delete(key);
    });
  }

  async #reconcile(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const raw = this.#informer?.get(name, namespace);
    const parsed = raw ? podSchema.safeParse(raw) : undefined;
    const pod = parsed?.success ? parsed.data : undefined;
    const wanted = !this.#stopped && pod && isDemoPod(pod) && podServing(pod) ? pod : undefined;
    const current = this.#managed.get(key);
    if (current && (!wanted || current.uid !== wanted.metadata.uid)) await this.#stop(key, current);
    if (wanted && !this.#managed.has(key)) await this.#start(key, wanted);
  }

  async #start(key: string, pod: Pod): Promise<void> {
    const deps = this.#deps;
    const previous = this.#restarts.get(key);
    const container = pod.spec.containers[0];
    const managed: Managed = {
      uid: pod.metadata.uid ?? '',
      stopping: false,
      entry: {
        namespace: pod.metadata.namespace,
        pod: pod.metadata.name,
        uid: pod.metadata.uid ?? '',
        workload: workloadOf(pod),
        labels: pod.metadata.labels ?? {},
        serviceAccount: pod.spec.serviceAccountName ?? 'default',
        state: 'starting',
        restarts: previous && previous.uid === pod.metadata.uid ? previous.count : 0,
        startedAt: new Date().toISOString(),
      },
    };
    this.#managed.set(key, managed);
    deps.registry.set(managed.entry);

    let env: Record<string, string>;
    try {
      env = await resolvePodEnv(pod, this.#lookup);
    } catch (error) {
      return this.#failed(key, managed, error instanceof Error ? error.message : String(error));
    }
    if (managed.stopping) return;
    const version = env.VERSION ?? imageTag(container?.image) ?? 'unknown';
    const logFile = join(deps.logDir, `${pod.metadata.namespace}_${pod.metadata.name}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      // Only the pod's environment, as in a container; PORT=0 so the app picks a free port.
      child = spawn(deps.launch.command, deps.launch.args, {
        cwd: deps.launch.cwd,
        env: { ...env, VERSION: version, PORT: '0', HOSTNAME: pod.metadata.name },
        stdio: ['ignore', fd, fd, 'ipc'],
      });
    } finally {
      closeSync(fd);
    }
    managed.child = child;
    managed.entry = { ...managed.entry, version, ...(child.pid !== undefined ? { pid: child.pid } : {}) };
    deps.registry.set(managed.entry);
    // Neither the child nor its IPC channel keeps the runtime alive; stop() ends them.
    child.unref();
    child.channel?.unref();

    child.on('message', (message: unknown) => {
      const port = (message as { type?: string; port?: unknown }).port;
      if ((message as { type?: string }).type !== 'listening' || typeof port !== 'number' || managed.stopping)
        return;
      managed.entry = { ...managed.entry, port, url: `http://127.0.0.1:${port}` };
      deps.registry.set(managed.entry);
      void this.#awaitReady(managed, pod);
    });
    child.once('error', (error) => {
      if (!managed.stopping) this.#failed(key, managed, `could not start the demo app: ${error.message}`);
    });
    child.once('exit', (code, signal) => {
      if (!managed.stopping)
        this.#failed(key, managed, `the demo app exited (${signal ?? `code ${code}`}); see ${logFile}`);
    });
    deps.log.debug({ pod: key, pid: child.pid, version }, 'started demo app process');
  }

  /** Polls /readyz as a readiness probe would; once it answers 200, traffic and scrapes may come. */
  async #awaitReady(managed: Managed, pod: Pod): Promise<void> {
    const url = managed.entry.url;
    while (url && !managed.stopping && managed.child?.exitCode === null) {
      try {
        const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    if (managed.stopping || managed.child?.exitCode !== null || !managed.entry.port) return;
    managed.entry = { ...managed.entry, state: 'ready' };
    delete managed.entry.error;
    this.#deps.registry.set(managed.entry);
    await this.#deps.targets
      .set(
        `${pod.metadata.namespace}-${pod.metadata.name}`,
        `127.0.0.1:${managed.entry.port}`,
        scrapeLabels(pod),
      )
      .catch((error: unknown) => this.#deps.log.warn({ err: error }, 'could not register a scrape target'));
    this.#deps.log.info({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, url }, 'demo app ready');
  }

  #failed(key: string, managed: Managed, error: string): void {
    if (managed.stopping) return;
    const restarts = managed.entry.restarts + 1;
    this.#restarts.set(key, { uid: managed.uid, count: restarts });
    managed.entry = { ...managed.entry, state: 'failed', error, restarts };
    delete managed.entry.port;
    delete managed.entry.url;
    this.#deps.registry.set(managed.entry);
    this.#deps.log.warn({ pod: key, error, restarts }, 'demo app not running; retrying');
    void this.#deps.targets.remove(`${managed.entry.namespace}-${managed.entry.pod}`).catch(() => undefined);
    if (managed.child && managed.child.exitCode === null) managed.child.kill('SIGKILL');
    const delay = Math.min(500 * 2 ** Math.min(restarts - 1, 6), 30_000);
    managed.retry = setTimeout(() => {
      if (this.#managed.get(key) !== managed || managed.stopping) return;
      this.#managed.delete(key);
      this.#schedule(managed.entry.namespace, managed.entry.pod);
    }, delay);
    managed.retry.unref();
  }

  async #stop(key: string, managed: Managed): Promise<void> {
    managed.stopping = true;
    clearTimeout(managed.retry);
    this.#managed.delete(key);
    this.#restarts.delete(key);
    this.#deps.registry.delete(managed.entry.namespace, managed.entry.pod);
    await this.#deps.targets.remove(`${managed.entry.namespace}-${managed.entry.pod}`).catch(() => undefined);
    const child = managed.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(forced);
    this.#deps.log.debug({ pod: key }, 'stopped demo app process');
  }

  /** Stops watching and every process. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#informer?.stop();
    await Promise.allSettled([...this.#queues.values()]);
    await Promise.all([...this.#managed.entries()].map(([key, managed]) => this.#stop(key, managed)));
  }
}

// ---------------------------------------------------------------------------------------

export interface LocalRuntimeOptions {
  kubeconfig: string;
  /** The dev harness state directory; the runtime keeps its files in `<stateDir>/runtime/<namespace|all>/`. */
  stateDir: string;
  /** Prometheus file_sd directory; without it nothing is registered for scraping. */
  prometheusTargetsDir?: string;
  /** Run pods and watch routing in this namespace only (default: all namespaces). */
  namespace?: string;
  /** One traffic proxy per entry; `namespace` defaults to the runtime's (or `default`). */
  proxies?: (Omit<ProxySpec, 'namespace'> & { namespace?: string })[];
  log?: Logger;
  /** For tests: the routing and endpoint choices' randomness. */
  random?: () => number;
}

export interface LocalRuntime {
  /** Pod → process, live. */
  registry: ProcessRegistry;
  proxies: RunningProxy[];
  /** Where Prometheus scrapes the istio_* series of every proxy. */
  metricsUrl: string;
  /** `<stateDir>/runtime/<namespace|all>`: registry.json and the processes' logs. */
  runtimeDir: string;
  addProxy(spec: Omit<ProxySpec, 'namespace'> & { namespace?: string }): Promise<RunningProxy>;
  stop(): Promise<void>;
}

/**
 * Starts the local runtime (demo-app processes for demo pods) and the traffic layer (one
 * proxy per requested Service, one metrics endpoint for all of them) against a cluster.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const log = options.log ?? silentLogger;
  const kube = connect(loadKubeConfig(options.kubeconfig));
  const id = randomBytes(3).toString('hex');
  const runtimeDir = resolve(options.stateDir, 'runtime', options.namespace ?? 'all');
  await mkdir(runtimeDir, { recursive: true });
  const registry = new ProcessRegistry();
  const registryFile = join(runtimeDir, 'registry.json');
  let writing = Promise.resolve();
  let pending: NodeJS.Timeout | undefined;
  const writeRegistry = () => {
    writing = writing
      .then(async () => {
        await writeFile(`${registryFile}.tmp`, `${JSON.stringify(registry.list(), null, 2)}\n`);
        await rename(`${registryFile}.tmp`, registryFile);
      })
      .catch((error: unknown) => log.warn({ err: error }, 'could not write registry.json'));
  };
  registry.on('change', () => {
    clearTimeout(pending);
    pending = setTimeout(writeRegistry, 100);
    pending.unref();
  });

  const appTargets = new ScrapeTargets(options.prometheusTargetsDir, `sluice-dev-app-${id}`);
  const meshTargets = new ScrapeTargets(options.prometheusTargetsDir, `sluice-dev-mesh-${id}`);
  const pods = new PodRuntime({
    kube,
    registry,
    targets: appTargets,
    launch: await demoAppLaunch(),
    logDir: join(runtimeDir, 'logs'),
    log: log.child({ component: 'runtime' }),
    ...(options.namespace ? { namespace: options.namespace } : {}),
  });
  const routes = new ClusterRoutes(kube, log.child({ component: 'traffic' }), options.namespace);
  const metrics = new MeshMetrics();
  const proxies: RunningProxy[] = [];
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;

  const stop = async () => {
    clearTimeout(pending);
    await Promise.allSettled(proxies.map((proxy) => proxy.close()));
    await pods.stop();
    await routes.stop();
    await metricsServer?.close();
    await Promise.allSettled([appTargets.removeAll(), meshTargets.removeAll()]);
    writeRegistry();
    await writing;
  };

  try {
    await Promise.all([pods.start(), routes.start()]);
    metricsServer = await startMetricsServer(metrics);
    await meshTargets.set('metrics', `127.0.0.1:${metricsServer.port}`, { component: 'sluice-dev-traffic' });
    const addProxy = async (spec: Omit<ProxySpec, 'namespace'> & { namespace?: string }) => {
      const proxy = await startProxy(
        { ...spec, namespace: spec.namespace ?? options.namespace ?? 'default' },
        { routes, registry, metrics, log, ...(options.random ? { random: options.random } : {}) },
      );
      proxies.push(proxy);
      return proxy;
    };
    for (const spec of options.proxies ?? []) await addProxy(spec);
    writeRegistry();
    return { registry, proxies, metricsUrl: metricsServer.url, runtimeDir, addProxy, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
