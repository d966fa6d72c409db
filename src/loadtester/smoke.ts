import { errorReason, parseNumber, parseUrl, parseDurationKey } from './load.ts';

export interface SmokeSpec {
  url: string;
  requests: number;
  timeoutMs: number;
}

export function parseSmokeSpec(metadata: Record<string, string>): SmokeSpec {
  return {
    url: parseUrl(metadata),
    requests: parseNumber(metadata, 'requests', 10, 1_000, true),
    timeoutMs: parseDurationKey(metadata, 'timeout', '10s', 5 * 60_000),
  };
}

export interface SmokeResult {
  ok: boolean;
  summary: string;
}

/** Sends `requests` GETs one after the other; every one must answer 2xx. */
export async function runSmoke(
  spec: SmokeSpec,
  send: (url: string, timeoutMs: number) => Promise<number> = fetchStatus,
): Promise<SmokeResult> {
  const outcomes: Record<string, number> = {};
  let passed = 0;
  for (let i = 0; i < spec.requests; i += 1) {
    let outcome: string;
    try {
      const status = await send(spec.url, spec.timeoutMs);
      outcome = String(status);
      if (status >= 200 && status < 300) passed += 1;
    } catch (error) {
      outcome = errorReason(error);
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  const counts = Object.entries(outcomes)
    .map(([outcome, count]) => `${count}× ${outcome}`)
    .join(', ');
  const ok = passed === spec.requests;
  return {
    ok,
    summary: `smoke test ${ok ? 'passed' : 'failed'}: ${passed}/${spec.requests} requests to ${spec.url} succeeded (${counts})`,
  };
}

async function fetchStatus(url: string, timeoutMs: number): Promise<number> {
  const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  return response.status;
}
