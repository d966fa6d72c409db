import { afterAll, beforeAll, expect, it } from 'vitest';
import { canaryWebhookSchema } from '../../src/hooks/types.ts';
import { callWebhook, runWebhooks, type NamedWebhookResult } from '../../src/hooks/webhook.ts';
import { sleep, startReceiver, type Receiver } from './receiver.ts';

// The acceptance measurement: a receiver that hangs for 60 s delays nothing else. Twenty
// canaries' hooks sit on the hung receiver (their timeout is longer than the hang, so
// they really wait); meanwhile other canaries call a healthy receiver every 250 ms and
// their latency is measured. This file runs beside the others, so its minute overlaps
// theirs instead of adding to the suite's wall time.

const HANG_MS = 60_000;
const HUNG_CANARIES = 20;

let hung: Receiver;
let healthy: Receiver;

beforeAll(async () => {
  hung = await startReceiver(async (_request, response) => {
    await sleep(HANG_MS);
    if (!response.destroyed) response.writeHead(200).end('finally');
  });
  healthy = await startReceiver();
});

afterAll(async () => {
  await Promise.all([hung.close(), healthy.close()]);
});

it('a receiver that hangs for 60 s delays no other canary’s hooks', async () => {
  const hook = (name: string, url: string) =>
    canaryWebhookSchema.parse({ name, type: 'pre-rollout', url, timeout: '90s' });

  const hungStarted = performance.now();
  const hungRuns = Array.from({ length: HUNG_CANARIES }, (_, i) =>
    runWebhooks([hook('load-test', `${hung.url}/hook`)], 'pre-rollout', {
      name: `hung-${i}`,
      namespace: 'team-a',
      phase: 'Progressing',
      checksum: 'x',
    }),
  );

  // Other canaries keep calling while all of the hung calls are outstanding.
  const latencies: number[] = [];
  const others: Array<Promise<void>> = [];
  let i = 0;
  while (performance.now() - hungStarted < HANG_MS - 2_000) {
    const name = `other-${i++}`;
    others.push(
      callWebhook(hook('smoke', `${healthy.url}/${name}`), {
        name,
        namespace: 'team-b',
        phase: 'Progressing',
        checksum: 'y',
      }).then((result) => {
        expect(result.passed).toBe(true);
        latencies.push(result.durationMs);
      }),
    );
    await sleep(250);
  }
  await Promise.all(others);
  const otherCallsDoneAt = performance.now() - hungStarted;

  const hungResults: NamedWebhookResult[] = (await Promise.all(hungRuns)).flatMap((run) => run.results);
  const hungElapsed = performance.now() - hungStarted;

  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length * 0.5)]!;
  const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
  const max = latencies[latencies.length - 1]!;
  console.info(
    `hang test: ${HUNG_CANARIES} hooks hung ${Math.round(hungElapsed)} ms; ${latencies.length} other calls meanwhile: ` +
      `p50 ${p50} ms, p99 ${p99} ms, max ${max} ms`,
  );

  // The hung receiver really hung, and every hung hook waited for it in parallel.
  expect(hung.received).toHaveLength(HUNG_CANARIES);
  expect(hungResults.every((r) => r.passed && r.durationMs >= HANG_MS - 500)).toBe(true);
  expect(hungElapsed).toBeLessThan(HANG_MS + 5_000);
  // Everyone else was served as if nothing hung: all calls done before the hang ended, fast.
  expect(latencies.length).toBeGreaterThan(200);
  expect(otherCallsDoneAt).toBeLessThan(HANG_MS);
  expect(p50).toBeLessThan(100);
  expect(max).toBeLessThan(1_000);
}, 120_000);
