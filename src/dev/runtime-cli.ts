import { z } from 'zod';
import { parseDuration } from '../api/duration.ts';
import { createLogger } from '../log.ts';
import { env } from './cluster.ts';
import { formatCounts, startDemoLoad } from './loadgen.ts';
import { startLocalRuntime } from './runtime.ts';
import type { ProxySpec } from './traffic.ts';

/**
 * A `--proxy` value: `[namespace/]service[:port][=host,host…]`, e.g.
 * `podinfo`, `demo/podinfo:8080=podinfo.test`.
 */
export function parseProxySpec(text: string): Omit<ProxySpec, 'namespace'> & { namespace?: string } {
  const match = /^(?:([a-z0-9-]+)\/)?([a-z0-9-]+)(?::(\d+))?(?:=(.+))?$/.exec(text.trim());
  if (!match) {
    throw new Error(
      `--proxy: "${text}" is not [namespace/]service[:port][=host,…] (e.g. demo/podinfo:8080=podinfo.test)`,
    );
  }
  const [, namespace, service = '', port, hosts] = match;
  const portNumber = port === undefined ? undefined : Number(port);
  if (portNumber !== undefined && portNumber > 65535)
    throw new Error(`--proxy: port ${port} in "${text}" is above 65535`);
  return {
    service,
    ...(namespace ? { namespace } : {}),
    ...(portNumber !== undefined ? { port: portNumber } : {}),
    ...(hosts
      ? {
          hosts: hosts
            .split(',')
            .map((h) => h.trim())
            .filter(Boolean),
        }
      : {}),
  };
}

const runtimeFlags = z.object({
  dir: z.string(),
  kubeconfig: z.string().optional(),
  prometheusTargets: z.string().optional(),
  namespace: z.string().optional(),
  proxy: z.array(z.string()),
  logLevel: z.string(),
});

const loadFlags = z.object({
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  rps: z.coerce.number().positive().max(10_000),
  duration: z.string().optional(),
  header: z.array(z.string()),
  every: z.string(),
});

function flagError(command: string, error: z.ZodError): Error {
  const issue = error.issues[0];
  return new Error(`sluice dev ${command}: --${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
}

/** `sluice dev runtime` (registered in src/cli/dev.ts): demo-app processes and traffic proxies until interrupted. */
export async function runRuntime(options: unknown): Promise<void> {
  const parsed = runtimeFlags.safeParse(options);
  if (!parsed.success) throw flagError('runtime', parsed.error);
  const flags = parsed.data;
  const proxies = flags.proxy.map(parseProxySpec);
  const cluster = await env(flags.dir);
  const kubeconfig = flags.kubeconfig ?? cluster?.kubeconfig;
  if (!kubeconfig) {
    throw new Error(
      `sluice dev runtime: no running local control plane in ${flags.dir} (start one with: sluice dev up), and no --kubeconfig`,
    );
  }
  const targetsDir =
    flags.prometheusTargets ?? (flags.kubeconfig ? undefined : cluster?.prometheusTargetsDir);
  const runtime = await startLocalRuntime({
    kubeconfig,
    stateDir: cluster?.stateDir ?? flags.dir,
    ...(targetsDir ? { prometheusTargetsDir: targetsDir } : {}),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    proxies,
    log: createLogger({ level: flags.logLevel, name: 'sluice-dev-runtime' }),
  });
  // One JSON line on stdout, so a parent process (sluice demo, a test) can read the URLs.
  process.stdout.write(
    `${JSON.stringify({
      metricsUrl: runtime.metricsUrl,
      runtimeDir: runtime.runtimeDir,
      proxies: runtime.proxies.map((p) => ({
        namespace: p.spec.namespace,
        service: p.spec.service,
        url: p.url,
      })),
    })}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await runtime.stop();
}

/** `sluice dev load`: constant-rate demo traffic, printing the counts as it goes. */
export async function runLoad(options: unknown): Promise<void> {
  const parsed = loadFlags.safeParse(options);
  if (!parsed.success) throw flagError('load', parsed.error);
  const flags = parsed.data;
  const durationMs = flags.duration === undefined ? undefined : parseDuration(flags.duration);
  if (flags.duration !== undefined && !durationMs) {
    throw new Error(`sluice dev load: --duration: "${flags.duration}" is not a duration such as 30s or 5m`);
  }
  const everyMs = parseDuration(flags.every);
  if (!everyMs) throw new Error(`sluice dev load: --every: "${flags.every}" is not a duration such as 2s`);
  const headers: Record<string, string> = {};
  for (const header of flags.header) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new Error(`sluice dev load: --header: "${header}" is not name:value`);
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  const load = startDemoLoad({
    url: flags.url,
    rps: flags.rps,
    headers,
    ...(durationMs ? { durationMs } : {}),
  });
  const ticker = setInterval(() => process.stdout.write(`${formatCounts(load.counts())}\n`), everyMs);
  const stop = () => void load.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const final = await load.done;
  clearInterval(ticker);
  process.stdout.write(`${formatCounts(final)}\n`);
}
