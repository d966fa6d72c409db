import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/kube.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Node 24 from the `node` package: the system node may be older. */
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

export interface RunningLoadtester {
  url: string;
  /** stderr lines (JSON logs). */
  log: string[];
  stop(): Promise<void>;
}

/** Starts `sluice loadtester` as its own process on a free port; resolves once it answers /healthz. */
export async function startLoadtester(args: string[]): Promise<RunningLoadtester> {
  const child = spawn(
    NODE,
    ['src/cli/main.ts', 'loadtester', '--port', '0', '--host', '127.0.0.1', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const log: string[] = [];
  let buffered = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    log.push(...lines);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const port = await eventually(
      'the load tester to listen',
      async () => {
        if (child.exitCode !== null)
          throw new Error(`load tester exited ${child.exitCode}: ${log.join('\n')}`);
        const line = log.find((l) => l.includes('load tester listening'));
        return line ? (JSON.parse(line) as { port: number }).port : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const url = `http://127.0.0.1:${port}`;
    const health = await fetch(`${url}/healthz`);
    if (health.status !== 200) throw new Error(`/healthz answered ${health.status}`);
    return { url, log, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function post(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: (await response.text()).trim() };
}
