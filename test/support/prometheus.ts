import { randomBytes } from 'node:crypto';
import { rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { testEnv } from './env.ts';
import { eventually } from './kube.ts';

/**
 * Registers an endpoint for the real Prometheus to scrape (file-based service discovery,
 * picked up within about a second). Returns a function that removes it again.
 */
export async function scrape(
  target: string,
  labels: Record<string, string> = {},
): Promise<() => Promise<void>> {
  const dir = testEnv().prometheusTargetsDir;
  const file = join(dir, `t-${randomBytes(4).toString('hex')}.json`);
  // Write then rename, so Prometheus never reads a half-written file.
  await writeFile(`${file}.tmp`, JSON.stringify([{ targets: [target], labels }]));
  await rename(`${file}.tmp`, file);
  return () => rm(file, { force: true });
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query against the real Prometheus. */
export async function query(promql: string): Promise<PromSample[]> {
  const url = new URL('/api/v1/query', testEnv().prometheusUrl);
  url.searchParams.set('query', promql);
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
  if (body.status !== 'success')
    throw new Error(`Prometheus query ${promql} failed: ${body.error ?? response.status}`);
  return body.data?.result ?? [];
}

/** Waits until an instant query returns at least one sample. */
export function waitForSeries(promql: string, timeoutMs = 30_000): Promise<PromSample[]> {
  return eventually(
    `Prometheus series ${promql}`,
    async () => {
      const result = await query(promql);
      return result.length > 0 ? result : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}
