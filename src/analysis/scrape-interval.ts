import { loadGot } from '../got.ts';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../api/duration.ts';

// Prometheus' scrape interval, read from the metrics server's own configuration
// (GET /api/v1/status/config). The judge and failFast checks look between steps every
// `checkEvery`; a look sooner than Prometheus scrapes sees the same samples again, so the
// controller never looks more often than this.

/** Prometheus' own default when its configuration sets no global scrape_interval. */
export const PROMETHEUS_DEFAULT_SCRAPE_MS = 60_000;
/** How long a read interval is kept before it is read again (Prometheus may be reconfigured). */
export const SCRAPE_INTERVAL_TTL_MS = 10 * 60_000;
/** After a failed read, how long before the next try. */
const RETRY_MS = 30_000;

const answerSchema = z.object({
  status: z.literal('success'),
  data: z.object({ yaml: z.string() }),
});

/** The global scrape_interval of the Prometheus at `address`, in milliseconds. */
export async function fetchScrapeIntervalMs(address: string, timeoutMs = 5000): Promise<number> {
  const base = address.endsWith('/') ? address : `${address}/`;
  const got = await loadGot();
  const body: unknown = await got(new URL('api/v1/status/config', base), {
    timeout: { request: timeoutMs },
    retry: { limit: 0 },
  }).json();
  const answer = answerSchema.safeParse(body);
  if (!answer.success) throw new Error(`${base}api/v1/status/config: not a Prometheus configuration answer`);
  return scrapeIntervalOf(answer.data.data.yaml);
}

/** The global scrape_interval of a Prometheus configuration file's text. */
export function scrapeIntervalOf(configYaml: string): number {
  const config = parse(configYaml) as { global?: { scrape_interval?: unknown } } | null;
  const text = config?.global?.scrape_interval;
  if (text === undefined) return PROMETHEUS_DEFAULT_SCRAPE_MS;
  const ms = typeof text === 'string' ? parseDuration(text) : undefined;
  if (ms === undefined || ms <= 0) {
    throw new Error(`global.scrape_interval: "${String(text)}" is not a duration Sluice reads`);
  }
  return ms;
}

export interface ScrapeIntervalDeps {
  fetch: () => Promise<number>;
  now: () => number;
  /** Told once per failure streak, with why the interval could not be read. */
  onError: (error: unknown) => void;
}

/**
 * The scrape interval as the reconciler asks for it: synchronously, undefined until the
 * first read answered. Reads happen in the background, again after the TTL, and a failed
 * read keeps the last known value (or none) and is retried later.
 */
export function scrapeIntervalSource(deps: ScrapeIntervalDeps): () => number | undefined {
  let known: number | undefined;
  let nextReadAt = 0;
  let reading = false;
  let failing = false;
  const read = () => {
    reading = true;
    deps.fetch().then(
      (ms) => {
        known = ms;
        failing = false;
        nextReadAt = deps.now() + SCRAPE_INTERVAL_TTL_MS;
        reading = false;
      },
      (error: unknown) => {
        if (!failing) deps.onError(error);
        failing = true;
        nextReadAt = deps.now() + RETRY_MS;
        reading = false;
      },
    );
  };
  return () => {
    if (!reading && deps.now() >= nextReadAt) read();
    return known;
  };
}
