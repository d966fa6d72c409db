import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isAlive, startDetached } from '../../src/dev/process.ts';
import { forwardRequest } from '../../test/support/loopback.ts';

// Faults the outage scenario injects: a control-plane process of the local harness killed and
// started again with the same command line (its pid recorded again so `sluice dev down` stops
// it), and a proxy in front of Prometheus that can refuse, slow down, fail, or answer NaN or
// nothing at all.

export type ControlPlaneProcess = 'apiserver' | 'etcd' | 'prometheus';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGKILLs one process of the harness in `stateDir`; returns a function that starts it again. */
export async function killProcess(
  stateDir: string,
  which: ControlPlaneProcess,
): Promise<() => Promise<void>> {
  const statePath = join(stateDir, 'state.json');
  const state = JSON.parse(await readFile(statePath, 'utf8')) as { pids: Record<string, number> };
  const pid = state.pids[which];
  if (pid === undefined || !isAlive(pid)) throw new Error(`no running ${which} recorded in ${statePath}`);
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const environment = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
  return async () => {
    const [command, ...rest] = args;
    if (!command) throw new Error(`${which}: empty command line`);
    const started = startDetached(command, rest, join(stateDir, 'logs', `${which}.log`), environment);
    const now = JSON.parse(await readFile(statePath, 'utf8')) as { pids: Record<string, number> };
    now.pids[which] = started;
    await writeFile(statePath, JSON.stringify(now, null, 2));
  };
}

export type PrometheusBehaviour = 'ok' | 'down' | 'slow' | 'error' | 'nan' | 'empty';

export interface PrometheusProxy {
  url: string;
  behave(behaviour: PrometheusBehaviour): void;
  /** Queries answered, by behaviour. */
  answered: Map<PrometheusBehaviour, number>;
  close(): Promise<void>;
}

/** A proxy on loopback in front of Prometheus; `slow` adds `slowMs` to every answer. */
export async function startPrometheusProxy(upstream: string, slowMs = 4000): Promise<PrometheusProxy> {
  let behaviour: PrometheusBehaviour = 'ok';
  const answered = new Map<PrometheusBehaviour, number>();
  const target = new URL(upstream);
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const now = behaviour;
      const forward = () => forwardRequest(target, request, response, { body: Buffer.concat(chunks) });
      answered.set(now, (answered.get(now) ?? 0) + 1);
      const vector = (value: string) =>
        JSON.stringify({
          status: 'success',
          data: {
            resultType: 'vector',
            result: value ? [{ metric: {}, value: [Date.now() / 1000, value] }] : [],
          },
        });
      switch (now) {
        case 'down':
          request.socket.destroy();
          return;
        case 'error':
          response
            .writeHead(500, { 'content-type': 'application/json' })
            .end('{"status":"error","error":"chaos"}');
          return;
        case 'nan':
          response.writeHead(200, { 'content-type': 'application/json' }).end(vector('NaN'));
          return;
        case 'empty':
          response.writeHead(200, { 'content-type': 'application/json' }).end(vector(''));
          return;
        case 'slow':
          setTimeout(forward, slowMs);
          return;
        default:
          forward();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    behave(next) {
      behaviour = next;
    },
    answered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
