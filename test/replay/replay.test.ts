import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { testEnv } from '../support/env.ts';
import { eventually } from '../support/kube.ts';
import { query, scrape, waitForSeries } from '../support/prometheus.ts';
import { replayCanaryObject } from '../support/canaries.ts';

// `sluice replay` against the real Prometheus of the harness: an exporter on loopback serves
// Istio's series for two workloads and their primaries for about a minute while Prometheus
// scrapes them every second; then the real CLI replays Canaries over that minute. One
// workload is healthy (same errors and latency as its primary), the other's canary fails
// 8 % of its requests against the primary's 0.5 %.

const BUCKETS_MS = [10, 25, 50, 100, 250, 500, 1000];
const RECORD_S = 55;

interface Arm {
  rps: number;
  /** Seconds after the exporter starts before this arm gets traffic (the canary's first weight step). */
  startAfterS?: number;
  errorShare: number;
  /** Share of requests in each bucket (the rest above the last bound). */
  latency: number[];
}

const HEALTHY: Arm = { rps: 40, errorShare: 0.005, latency: [0.1, 0.5, 0.3, 0.08, 0.015, 0.005, 0] };
const FAILING: Arm = { ...HEALTHY, errorShare: 0.08 };
/** The canary gets traffic from its first weight step on, about 10 s into the replay window. */
const CANARY_START_S = 12;

/** Counters advanced from wall-clock time, rendered in the Prometheus text format. */
class IstioExporter {
  readonly workloads: { namespace: string; name: string; arm: Arm }[] = [];
  private readonly started = Date.now();
  private server: Server | undefined;

  add(namespace: string, name: string, arm: Arm): void {
    this.workloads.push({ namespace, name, arm });
  }

  render(): string {
    const seconds = (Date.now() - this.started) / 1000;
    const lines = [
      '# TYPE istio_requests_total counter',
      '# TYPE istio_request_duration_milliseconds histogram',
    ];
    for (const { namespace, name, arm } of this.workloads) {
      const labels = `reporter="destination",destination_workload_namespace="${namespace}",destination_workload="${name}"`;
      const total = Math.floor(arm.rps * Math.max(0, seconds - (arm.startAfterS ?? 0)));
      const errors = Math.floor(total * arm.errorShare);
      lines.push(`istio_requests_total{${labels},response_code="200"} ${total - errors}`);
      lines.push(`istio_requests_total{${labels},response_code="503"} ${errors}`);
      let below = 0;
      BUCKETS_MS.forEach((le, i) => {
        below += arm.latency[i] ?? 0;
        lines.push(
          `istio_request_duration_milliseconds_bucket{${labels},le="${le}"} ${Math.floor(total * below)}`,
        );
      });
      lines.push(`istio_request_duration_milliseconds_bucket{${labels},le="+Inf"} ${total}`);
      lines.push(`istio_request_duration_milliseconds_count{${labels}} ${total}`);
    }
    return `${lines.join('\n')}\n`;
  }

  async start(): Promise<number> {
    this.server = createServer((_, response) => {
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      response.end(this.render());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('exporter: no port');
    return address.port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

function canaryYaml(namespace: string, analysis: Record<string, unknown>): string {
  return stringify(
    replayCanaryObject(namespace, 'http://prometheus.monitoring:9090', analysis, { provider: 'istio' }),
  );
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function sluice(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['src/cli/main.ts', ...args],
      { timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('sluice replay against the real Prometheus', () => {
  const suffix = randomBytes(3).toString('hex');
  const healthy = `replay-ok-${suffix}`;
  const failing = `replay-bad-${suffix}`;
  const exporter = new IstioExporter();
  let unscrape: (() => Promise<void>) | undefined;
  let dir: string;
  let from: number;
  let to: number;
  const files: Record<string, string> = {};

  beforeAll(
    async () => {
      exporter.add(healthy, 'podinfo', { ...HEALTHY, startAfterS: CANARY_START_S });
      exporter.add(healthy, 'podinfo-primary', HEALTHY);
      exporter.add(failing, 'podinfo', { ...FAILING, startAfterS: CANARY_START_S });
      exporter.add(failing, 'podinfo-primary', HEALTHY);
      const port = await exporter.start();
      unscrape = await scrape(`127.0.0.1:${port}`);
      const selector = `istio_requests_total{destination_workload_namespace="${failing}",destination_workload="podinfo-primary"}`;
      const first = await waitForSeries(selector);
      from = Math.ceil(first[0]!.value[0]) * 1000 + 2000;
      to = from + RECORD_S * 1000;
      // Wait until Prometheus holds samples past the end of the window.
      await eventually(
        'samples past the end of the replay window',
        async () => {
          const [sample] = await query(`timestamp(${selector})`);
          return sample && Number(sample.value[1]) * 1000 > to + 2000 ? true : undefined;
        },
        { timeoutMs: (RECORD_S + 30) * 1000, intervalMs: 1000 },
      );
      dir = await mkdtemp(join(tmpdir(), 'sluice-replay-'));
      const write = async (name: string, text: string) => {
        files[name] = join(dir, `${name}.yaml`);
        await writeFile(files[name], text);
      };
      await write('healthy', canaryYaml(healthy, { judge: {}, checkEvery: '2s' }));
      await write('failing', canaryYaml(failing, { judge: {}, checkEvery: '2s' }));
      await write(
        'failing-fixed',
        canaryYaml(failing, {
          threshold: 2,
          metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }],
        }),
      );
    },
    (RECORD_S + 60) * 1000,
  );

  afterAll(async () => {
    await unscrape?.();
    await exporter.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const window = () => [
    '--from',
    new Date(from).toISOString(),
    '--to',
    new Date(to).toISOString(),
    '--prometheus',
    testEnv().prometheusUrl,
  ];

  it('promotes a healthy canary, showing values, limits and the judge at every round (exit 0)', async () => {
    const run = await sluice(['replay', '-f', files.healthy!, ...window()]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/round {2}Progressing, canary at 50 %/);
    expect(run.stdout).toMatch(/judge undecided errors: canary [\d.]+ % \(\d+\/\d+\) vs primary [\d.]+ %/);
    expect(run.stdout).toMatch(/judge undecided latency: canary p50 \S+ p99 \S+ \(n=\d+\)/);
    expect(run.stdout).toMatch(/=> would promote at \S+ \(40s after the start\)/);
  });

  it('rolls a failing canary back on the judge between rounds (exit 1)', async () => {
    const run = await sluice(['replay', '-f', files.failing!, ...window()]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/fast-fail look {2}Progressing, canary at 50 %/);
    expect(run.stdout).toMatch(/judge fail {6}errors: /);
    expect(run.stdout).toMatch(
      /=> would roll back at \S+ \(\d+s after the start\): judge: errors: canary [\d.]+ % .* Bayes factor \S+ \(needs 200\), p ≤ \S+: regression \(increase\)/,
    );
  });

  it('compares a threshold rule with the judge on the same data, side by side', async () => {
    const run = await sluice([
      'replay',
      '-f',
      files['failing-fixed']!,
      '--compare',
      files.failing!,
      ...window(),
    ]);
    expect(run.code).toBe(1);
    const [header] = run.stdout.split('\n');
    expect(header).toMatch(/^time\s+A: \S+failing-fixed\.yaml\s+B: \S+failing\.yaml$/);
    expect(run.stdout).toMatch(/failed: request-success-rate/);
    expect(run.stdout).toMatch(
      /A => would roll back at \S+ \(30s after the start\): .*request-success-rate: 9\d(\.\d+)? < min 99/,
    );
    expect(run.stdout).toMatch(/B => would roll back at \S+ \(1\ds after the start\): judge: errors/);
  });

  it('exits 2 naming the field of an invalid Canary', async () => {
    await writeFile(join(dir, 'bad.yaml'), canaryYaml(failing, { judge: { confidence: 2 } }));
    const run = await sluice(['replay', '-f', join(dir, 'bad.yaml'), ...window()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/spec\.analysis\.judge\.confidence/);
  });
});
