import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apply, connect, isAlreadyExists, loadKubeConfig, type Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { ClusterEnv } from './cluster.ts';
import { freePort } from './process.ts';
import { startLocalRuntime, type LocalRuntime } from './runtime.ts';
import { startSlackReceiver, type SlackReceiver } from './slack-receiver.ts';
import type { ProxySpec } from './traffic.ts';

export { freePort };

/** The sluice CLI of this installation: the sources under Node 24, or the compiled dist. */
export function sluiceEntry(): string {
  const ts = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('../cli/main.js', import.meta.url));
}

export interface SluiceChild {
  name: string;
  child: ChildProcess;
  port: number;
  logFile: string;
  exited: Promise<number | NodeJS.Signals | null>;
  log(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs a `sluice …` subcommand as its own process, its output in a log file. */
export async function spawnSluice(options: {
  name: string;
  args: string[];
  logDir: string;
  port: number;
  /** GET this path on the port until it answers 200. */
  readyPath?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<SluiceChild> {
  await mkdir(options.logDir, { recursive: true });
  const logFile = join(options.logDir, `${options.name}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [sluiceEntry(), ...options.args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  const handle: SluiceChild = {
    name: options.name,
    child,
    port: options.port,
    logFile,
    exited,
    log: () => readFile(logFile, 'utf8'),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  if (options.readyPath) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`sluice ${options.args[0]} exited at start:\n${(await handle.log()).slice(-3000)}`);
      }
      const ok = await fetch(`http://127.0.0.1:${options.port}${options.readyPath}`, {
        signal: AbortSignal.timeout(2000),
      })
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline)
        throw new Error(`sluice ${options.args[0]} not ready on port ${options.port} after 60s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return handle;
}

export interface AppStackOptions {
  env: ClusterEnv;
  namespace: string;
  /** Proxies of the traffic layer (one per apex Service). */
  proxies: (Omit<ProxySpec, 'namespace'> & { namespace?: string })[];
  /** Extra `sluice controller` flags. */
  controllerArgs?: string[];
  loadtester?: boolean;
  slack?: boolean;
  /** Also run `sluice dashboard` for the namespace (as the kubeconfig's identity). */
  dashboard?: boolean;
  log?: Logger;
}

/** Everything around one namespace of demo workloads: runtime, proxies, controller, load tester, Slack. */
export interface AppStack {
  kube: Kube;
  namespace: string;
  runtime: LocalRuntime;
  controller: SluiceChild;
  loadtester: SluiceChild | undefined;
  loadtesterUrl: string | undefined;
  slack: SlackReceiver | undefined;
  /** The dashboard's address, when asked for. */
  dashboardUrl: string | undefined;
  logDir: string;
  stop(): Promise<void>;
}

/**
 * Starts, for one namespace: the local runtime (real processes for demo pods) with its
 * traffic proxies, a Slack-compatible receiver, the load tester and the controller, each
 * as users would run them. The namespace is created if missing.
 */
export async function startAppStack(options: AppStackOptions): Promise<AppStack> {
  const { env, namespace } = options;
  const kube = connect(loadKubeConfig(env.kubeconfig));
  try {
    await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  const logDir = join(env.stateDir, 'logs', namespace);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
  };
  try {
    const runtime = await startLocalRuntime({
      kubeconfig: env.kubeconfig,
      stateDir: env.stateDir,
      prometheusTargetsDir: env.prometheusTargetsDir,
      namespace,
      proxies: options.proxies,
      ...(options.log ? { log: options.log } : {}),
    });
    stops.push(() => runtime.stop());

    const slack = options.slack ? await startSlackReceiver() : undefined;
    if (slack) stops.push(() => slack.stop());

    /** Starts `sluice <command>` on a free loopback port, logging into logDir, ready once `readyPath` answers. */
    const startSluice = async (command: string, readyPath: string, args: string[]) => {
      const port = await freePort();
      const child = await spawnSluice({
        name: command,
        args: [command, '--port', String(port), ...args],
        logDir,
        port,
        readyPath,
      });
      stops.push(() => child.stop());
      return { child, url: `http://127.0.0.1:${port}` };
    };

    const startedLoadtester = options.loadtester
      ? await startSluice('loadtester', '/healthz', [
          '--host',
          '127.0.0.1',
          '--kubeconfig',
          env.kubeconfig,
          '--gate-namespace',
          namespace,
        ])
      : undefined;

    const { child: controller } = await startSluice('controller', '/readyz', [
      '--kubeconfig',
      env.kubeconfig,
      '-n',
      namespace,
      '--no-leader-elect',
      '--metrics-server',
      env.prometheusUrl,
      '--cluster-name',
      'local',
      // Every step as an Event too: the demo's event log tells the whole rollout.
      '--step-events',
      ...(slack ? ['--slack-url', slack.url] : []),
      ...(options.controllerArgs ?? []),
    ]);

    const dashboard = options.dashboard
      ? await startSluice('dashboard', '/healthz', [
          '--kubeconfig',
          env.kubeconfig,
          '-n',
          namespace,
          '--address',
          '127.0.0.1',
          '--prometheus',
          env.prometheusUrl,
        ])
      : undefined;
    return {
      kube,
      namespace,
      runtime,
      controller,
      loadtester: startedLoadtester?.child,
      loadtesterUrl: startedLoadtester?.url,
      slack,
      dashboardUrl: dashboard && `${dashboard.url}/`,
      logDir,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Applies a user's manifest (field manager `kubectl`, never Sluice's). */
export function applyManifest<T extends object>(kube: Kube, object: T) {
  return apply(kube, object as Parameters<typeof apply>[1], { fieldManager: 'kubectl' });
}
