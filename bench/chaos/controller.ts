import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort } from '../../src/dev/process.ts';

// The controller as users run it (`sluice controller`, from the sources on Node 24), started,
// SIGKILLed and restarted by a scenario. Every exit the scenario did not cause, and every exit
// after a SIGTERM other than 0, is an unclean exit: the invariant "the controller never exits
// with anything but a clean shutdown".

export interface ControllerSpec {
  kubeconfig: string;
  /** --metrics-server */
  prometheusUrl: string;
  namespace: string;
  logDir: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface Replica {
  name: string;
  pid: number;
  port: number;
  logFile: string;
  child: ChildProcess;
  exited: Promise<number | NodeJS.Signals | null>;
  /** What /readyz says now (undefined when it does not answer). */
  readyz(): Promise<{ ok: boolean; text: string } | undefined>;
}

export class ControllerSupervisor {
  /** Exits nobody asked for, with how they ended. */
  readonly uncleanExits: string[] = [];
  private readonly spec: ControllerSpec;
  private readonly expected = new Set<number>();
  private started = 0;

  constructor(spec: ControllerSpec) {
    this.spec = spec;
  }

  /** Environment of the replicas started from now on (the receiver's URLs are known only later). */
  setEnv(env: NodeJS.ProcessEnv): void {
    this.spec.env = { ...this.spec.env, ...env };
  }

  /** Starts one replica and waits until /healthz answers (60 s at most). */
  async start(name = 'controller', extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Replica> {
    const port = await freePort();
    await mkdir(this.spec.logDir, { recursive: true });
    this.started += 1;
    const logFile = join(this.spec.logDir, `${name}-${this.started}.log`);
    const out = createWriteStream(logFile);
    const child = spawn(
      process.execPath,
      [
        resolve('src/cli/main.ts'),
        'controller',
        '--kubeconfig',
        this.spec.kubeconfig,
        '-n',
        this.spec.namespace,
        '--metrics-server',
        this.spec.prometheusUrl,
        '--port',
        String(port),
        '--log-level',
        'info',
        ...this.spec.args,
        ...extraArgs,
      ],
      { env: { ...process.env, ...this.spec.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    if (child.pid === undefined) throw new Error('could not start the controller');
    const pid = child.pid;
    const exited = new Promise<number | NodeJS.Signals | null>((done) =>
      child.on('exit', (code, signal) => {
        const how = signal ?? code;
        const asked = this.expected.has(pid);
        if (!asked || (signal === null && code !== 0))
          this.uncleanExits.push(`${name} (pid ${pid}) exited with ${String(how)}; log: ${logFile}`);
        done(how);
      }),
    );
    const readyz = async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`, {
          signal: AbortSignal.timeout(2000),
        });
        return { ok: response.ok, text: await response.text() };
      } catch {
        return undefined;
      }
    };
    const replica: Replica = { name, pid, port, logFile, child, exited, readyz };
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the controller exited at start; log: ${logFile}`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return replica;
      if (Date.now() > deadline) {
        await this.stop(replica, 'SIGKILL');
        throw new Error(`the controller did not answer /healthz in 60s; log: ${logFile}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops a replica with `signal` (its exit then counts as asked for) and waits for the exit. */
  async stop(replica: Replica, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | NodeJS.Signals | null> {
    this.expected.add(replica.pid);
    if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill(signal);
    const timer = setTimeout(() => replica.child.kill('SIGKILL'), 15_000);
    const how = await replica.exited;
    clearTimeout(timer);
    return how;
  }
}
