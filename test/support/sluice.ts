import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort } from '../../src/dev/process.ts';
import { apply, type Kube } from '../../src/kube/client.ts';
import { readCanary, type CanaryObject } from '../../src/controller/reconciler.ts';
import { expect } from 'vitest';
import { testEnv, type SluiceTestEnv } from './env.ts';
import { eventually } from './kube.ts';

/** The sluice CLI as users run it, on this Node (24), from the sources. */
export const SLUICE = [resolve('src/cli/main.ts')];

export interface SluiceProcess {
  child: ChildProcess;
  port: number;
  logFile: string;
  log(): Promise<string>;
  /** Resolves when the process exits (with its code or signal). */
  exited: Promise<number | NodeJS.Signals | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `sluice controller` as a real process against the test control plane. */
export async function startControllerProcess(options: {
  namespace: string;
  name?: string;
  args?: string[];
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
  /** The control plane, outside vitest (`npm run chaos`); inside, the suite's own. */
  cluster?: Pick<SluiceTestEnv, 'kubeconfig' | 'prometheusUrl' | 'stateDir'>;
}): Promise<SluiceProcess> {
  const { kubeconfig, prometheusUrl, stateDir } = options.cluster ?? testEnv();
  const port = await freePort();
  const logs = join(stateDir, 'logs', 'controllers');
  await mkdir(logs, { recursive: true });
  const logFile = join(logs, `${options.namespace}-${options.name ?? 'controller'}-${port}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      ...SLUICE,
      'controller',
      '--kubeconfig',
      options.kubeconfig ?? kubeconfig,
      '-n',
      options.namespace,
      '--metrics-server',
      prometheusUrl,
      '--port',
      String(port),
      '--log-level',
      'debug',
      ...(options.args ?? ['--no-leader-elect']),
    ],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<number | NodeJS.Signals | null>((done) =>
    child.on('exit', (code, signal) => done(signal ?? code)),
  );
  const proc: SluiceProcess = {
    child,
    port,
    logFile,
    log: () => readFile(logFile, 'utf8'),
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  try {
    await eventually(
      `controller /healthz on ${port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`controller exited: ${(await proc.log()).slice(-2000)}`);
        const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return response?.ok;
      },
      // Start-up is a second or two alone; a loaded 2-core machine has taken over 30 s.
      { timeoutMs: 60_000 },
    );
  } catch (error) {
    // A controller that never answered is not left running behind the failed test.
    await proc.kill('SIGKILL');
    throw error;
  }
  return proc;
}

/** How a long-running command ended: its exit code and what a person read on stderr. */
export interface SluiceExit {
  code: number;
  /** stderr without the JSON log lines. */
  said: string[];
  ms: number;
}

/** Runs `sluice <args>` until it exits (bounded), for start-up failures. */
export function sluiceExit(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<SluiceExit> {
  const started = Date.now();
  return new Promise((done) => {
    execFile(
      process.execPath,
      [...SLUICE, ...args],
      { timeout: options.timeoutMs ?? 60_000, env: options.env ?? process.env },
      (error, _stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        const said = stderr.split('\n').filter((line) => line.trim() && !line.startsWith('{'));
        done({ code, said, ms: Date.now() - started });
      },
    );
  });
}

/** The command stopped with exit code 1 and said one line, matching `line`. */
export function expectOneLineFailure(exit: SluiceExit, line: RegExp): void {
  expect(exit.code).toBe(1);
  expect(exit.said).toHaveLength(1);
  expect(exit.said[0]).toMatch(line);
}

/** Runs a sluice CLI command to completion. */
export function sluice(
  args: string[],
  options: { timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [...SLUICE, '--kubeconfig', testEnv().kubeconfig, ...args],
      { timeout: options.timeoutMs ?? 300_000, maxBuffer: 20 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** Applies an object the way a person or a GitOps tool does (never as Sluice's field manager). */
export function applyAsUser<T extends object>(kube: Kube, object: T, manager = 'kubectl') {
  return apply(kube, object as Parameters<typeof apply>[1], { fieldManager: manager });
}

export interface PodinfoOptions {
  namespace: string;
  name?: string;
  image?: string;
  replicas?: number;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** More fields of the podinfo container (envFrom, volumeMounts, …). */
  container?: Record<string, unknown>;
  /** More fields of the pod spec (volumes, …). */
  podSpec?: Record<string, unknown>;
}

/** A podinfo-like Deployment; `replicas` is left out unless asked for (GitOps-friendly). */
export function podinfoDeployment(options: PodinfoOptions) {
  const name = options.name ?? 'podinfo';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: options.namespace, labels: { app: name } },
    spec: {
      ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...options.labels } },
        spec: {
          containers: [
            {
              name: 'podinfo',
              image: options.image ?? 'ghcr.io/stefanprodan/podinfo:6.0.0',
              ports: [{ name: 'http', containerPort: 9898 }],
              env: Object.entries(options.env ?? {}).map(([key, value]) => ({ name: key, value })),
              ...options.container,
            },
          ],
          ...options.podSpec,
        },
      },
    },
  };
}

export { canaryObject } from './canaries.ts';

/** A phase by name, or a condition on the Canary. */
export type PhaseWanted<C> = string | ((canary: C) => boolean);

/** Which Canary (default podinfo) and how long to wait for it (default 120 s). */
export interface PhaseWait {
  name?: string;
  timeoutMs?: number;
}

/** The condition a PhaseWanted stands for. */
export function phaseCondition<C extends { status?: { phase?: unknown } }>(
  wanted: PhaseWanted<C>,
): (canary: C) => boolean {
  return typeof wanted === 'string' ? (c) => c.status?.phase === wanted : wanted;
}

export async function waitForPhase(
  kube: Kube,
  namespace: string,
  phase: PhaseWanted<CanaryObject>,
  options: PhaseWait = {},
): Promise<CanaryObject> {
  const name = options.name ?? 'podinfo';
  const matches = phaseCondition(phase);
  let last: CanaryObject | undefined;
  try {
    return await eventually(
      `canary ${namespace}/${name} ${typeof phase === 'string' ? phase : 'condition'}`,
      async () => {
        last = await readCanary(kube, namespace, name);
        return matches(last) ? last : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 120_000, intervalMs: 300 },
    );
  } catch (error) {
    const status = last?.status ?? {};
    throw new Error(
      `${(error as Error).message}; last phase ${String(status.phase)}: ${String(status.message ?? '')}`,
      { cause: error },
    );
  }
}

/** Events on a canary: message → total count (deduplicated Events count up). */
export async function canaryEvents(
  kube: Kube,
  namespace: string,
  name = 'podinfo',
): Promise<Map<string, number>> {
  const list = await kube.core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.kind=Canary,involvedObject.name=${name}`,
  });
  const counts = new Map<string, number>();
  for (const event of list.items) {
    const message = event.message ?? '';
    counts.set(message, (counts.get(message) ?? 0) + (event.count ?? 1));
  }
  return counts;
}

/** The weights of the last HTTP route of an Istio VirtualService, as the router wrote them. */
export async function virtualServiceWeights(
  kube: Kube,
  namespace: string,
  name = 'podinfo',
): Promise<number[]> {
  const vs = (await kube.custom.getNamespacedCustomObject({
    group: 'networking.istio.io',
    version: 'v1',
    namespace,
    plural: 'virtualservices',
    name,
  })) as { spec: { http: { route: { weight?: number }[] }[] } };
  return vs.spec.http.at(-1)!.route.map((r) => r.weight ?? 0);
}
