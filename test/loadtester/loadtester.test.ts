import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryWebhookSchema } from '../../src/hooks/types.ts';
import { callWebhook } from '../../src/hooks/webhook.ts';
import { sleep, startReceiver, type Receiver } from '../hooks/receiver.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { post, startLoadtester as start, type RunningLoadtester } from './process.ts';

// `sluice loadtester` as its own process, driven over HTTP the way Flagger's and
// Sluice's controllers call it; gate state in a ConfigMap of the real apiserver.

const GATES = 'sluice-loadtester-gates';

const ns = useNamespace('loadtester');

/** The load tester as its own process, with gate state in this file's namespace. */
const startLoadtester = (args: string[]): Promise<RunningLoadtester> =>
  start(['--kubeconfig', testEnv().kubeconfig, '--gate-namespace', ns.name, ...args]);

let target: Receiver;
let first: RunningLoadtester;
const stopping: RunningLoadtester[] = [];

beforeAll(async () => {
  target = await startReceiver(async (request, response) => {
    const ok = !request.path.startsWith('/fail');
    response.writeHead(ok ? 200 : 503).end(ok ? 'ok' : 'unavailable');
  });
  first = await startLoadtester(['--allow-cmd-prefix', 'echo', 'kubectl version']);
  stopping.push(first);
});

afterAll(async () => {
  await Promise.all(stopping.map((running) => running.stop()));
  await target.close();
});

const canary = () => ({ name: 'podinfo', namespace: ns.name, phase: 'Progressing', checksum: 'c0ffee' });

describe('load', () => {
  it('drives a local server at the requested rate (±10 % over 10 s), once per canary and spec', async () => {
    const metadata = {
      type: 'load',
      url: `${target.url}/load`,
      rps: '50',
      concurrency: '10',
      duration: '10s',
    };
    const started = await post(`${first.url}/`, { ...canary(), metadata });
    expect(started.status).toBe(202);
    expect(started.text).toContain('load task started');
    await sleep(2_000);
    // The next analysis tick repeats the webhook: it must not start a second run.
    const repeated = await post(`${first.url}/`, { ...canary(), metadata });
    expect(repeated).toMatchObject({ status: 202, text: expect.stringContaining('already running') });

    await eventually(
      'the load test to finish',
      async () => first.log.some((l) => l.includes('load test finished')),
      {
        timeoutMs: 20_000,
      },
    );
    const hits = target.received.filter((r) => r.path === '/load');
    const seconds = (hits.at(-1)!.at - hits[0]!.at) / 1000;
    const rate = (hits.length - 1) / seconds;
    console.info(
      `load: ${hits.length} requests over ${seconds.toFixed(2)} s = ${rate.toFixed(1)} rps (asked 50)`,
    );
    expect(hits.length).toBeGreaterThanOrEqual(450);
    expect(hits.length).toBeLessThanOrEqual(550);
    expect(rate).toBeGreaterThanOrEqual(45);
    expect(rate).toBeLessThanOrEqual(55);
    expect(seconds).toBeGreaterThan(9);

    // Reported in the log (percentiles, status counts) and in /metrics.
    const report = JSON.parse(first.log.find((l) => l.includes('load test finished'))!) as {
      requests: number;
      statusCounts: Record<string, number>;
      latencyMs: { p50: number; p99: number };
    };
    expect(report.requests).toBe(hits.length);
    expect(report.statusCounts).toEqual({ '200': hits.length });
    expect(report.latencyMs.p99).toBeGreaterThan(0);
    const metrics = await (await fetch(`${first.url}/metrics`)).text();
    expect(metrics).toContain(
      `sluice_loadtester_requests_total{canary="podinfo.${ns.name}",code="200"} ${hits.length}`,
    );
    expect(metrics).toMatch(
      new RegExp(
        `sluice_loadtester_request_duration_seconds\\{quantile="0.99",canary="podinfo.${ns.name}"\\}`,
      ),
    );
  }, 60_000);

  it('smoke tests block and answer 200, or 500 with a summary', async () => {
    const passed = await post(`${first.url}/`, {
      ...canary(),
      metadata: { type: 'smoke', url: `${target.url}/ok`, requests: '5' },
    });
    expect(passed).toEqual({
      status: 200,
      text: `smoke test passed: 5/5 requests to ${target.url}/ok succeeded (5× 200)`,
    });
    const failed = await post(`${first.url}/`, {
      ...canary(),
      metadata: { type: 'smoke', url: `${target.url}/fail` },
    });
    expect(failed).toEqual({
      status: 500,
      text: `smoke test failed: 0/10 requests to ${target.url}/fail succeeded (10× 503)`,
    });
  });

  it('refuses a bad spec, naming the key', async () => {
    const answer = await post(`${first.url}/`, {
      ...canary(),
      metadata: { url: `${target.url}/`, rps: 'lots' },
    });
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('metadata.rps: "lots" is not a number');
  });
});

describe('commands', () => {
  it('refuses a shell command that is not allowlisted, with how to allow it', async () => {
    const marker = join(tmpdir(), `sluice-must-not-exist-${Date.now()}`);
    const answer = await post(`${first.url}/`, {
      ...canary(),
      metadata: { type: 'cmd', cmd: `touch ${marker}` },
    });
    expect(answer.status).toBe(403);
    expect(answer.text).toBe(
      `command not allowed: "touch ${marker}" does not start with an allowed prefix (echo, kubectl version); add one with --allow-cmd-prefix`,
    );
    // Flagger's own payload for hey (no type: Flagger's load tester runs it as cmd).
    const flagger = await post(`${first.url}/`, {
      name: 'podinfo',
      namespace: ns.name,
      phase: 'Progressing',
      checksum: '7d5f8f8c',
      metadata: { cmd: 'hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/' },
    });
    expect(flagger.status).toBe(403);
    await sleep(200);
    expect(existsSync(marker)).toBe(false);
  });

  it('runs an allowlisted command without a shell', async () => {
    const answer = await post(`${first.url}/`, {
      ...canary(),
      metadata: { type: 'bash', cmd: 'echo "hello  world" $HOME', returnCmdOutput: 'true' },
    });
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('"$" needs a shell');
    const echoed = await post(`${first.url}/`, {
      ...canary(),
      metadata: { type: 'bash', cmd: "echo 'hello  world' '$HOME'", returnCmdOutput: 'true' },
    });
    expect(echoed).toEqual({ status: 200, text: 'hello  world $HOME' });
    const background = await post(`${first.url}/`, {
      ...canary(),
      metadata: { cmd: 'echo from-cmd', logCmdOutput: 'true' },
    });
    expect(background.status).toBe(202);
    await eventually('the command to finish', async () => first.log.some((l) => l.includes('from-cmd\\n')), {
      timeoutMs: 5_000,
    });
  });
});

describe('gates', () => {
  it('open and close per canary and survive a restart', async () => {
    const gate = (path: string, name = 'podinfo') =>
      post(`${first.url}${path}`, { name, namespace: ns.name });
    expect(await gate('/gate/approve')).toMatchObject({ status: 200 });
    expect(await gate('/gate/halt')).toMatchObject({ status: 403 });
    expect(await gate('/gate/check')).toEqual({ status: 403, text: 'Forbidden' });
    expect(await gate('/gate/open')).toEqual({ status: 202, text: `gate opened for podinfo.${ns.name}` });
    expect(await gate('/gate/check')).toEqual({ status: 200, text: 'Approved' });
    expect(await gate('/gate/check', 'other')).toMatchObject({ status: 403 });
    expect(await gate('/rollback/check')).toMatchObject({ status: 403 });
    expect(await gate('/rollback/open')).toMatchObject({ status: 202 });

    // Sluice's webhook runner sees the same answers (a confirm-promotion gate).
    const hook = canaryWebhookSchema.parse({
      name: 'approval',
      type: 'confirm-promotion',
      url: `${first.url}/gate/check`,
    });
    expect(await callWebhook(hook, canary())).toMatchObject({ passed: true, status: 200 });

    const configMap = await ns.kube.core.readNamespacedConfigMap({ name: GATES, namespace: ns.name });
    expect(configMap.data).toEqual({
      [`gate.${ns.name}.podinfo`]: 'open',
      [`rollback.${ns.name}.podinfo`]: 'open',
    });

    // Restart: a new process (no commands allowed, one namespace served) remembers the gates.
    await first.stop();
    const second = await startLoadtester(['--namespace-regexp', `^${ns.name}$`]);
    stopping.push(second);
    const again = (path: string, name = 'podinfo') =>
      post(`${second.url}${path}`, { name, namespace: ns.name });
    expect(await again('/gate/check')).toEqual({ status: 200, text: 'Approved' });
    expect(await again('/rollback/check')).toMatchObject({ status: 200 });
    expect(await again('/gate/close')).toMatchObject({ status: 202 });
    expect(await again('/gate/check')).toMatchObject({ status: 403 });
    expect(
      await callWebhook(canaryWebhookSchema.parse({ ...hook, url: `${second.url}/gate/check` }), canary()),
    ).toMatchObject({
      passed: false,
      status: 403,
    });

    // That process serves only its namespace and runs no commands at all.
    const foreign = await post(`${second.url}/gate/open`, { name: 'podinfo', namespace: 'someone-else' });
    expect(foreign.status).toBe(403);
    expect(foreign.text).toContain('namespace someone-else is not served by this load tester');
    const command = await post(`${second.url}/`, { ...canary(), metadata: { type: 'cmd', cmd: 'echo hi' } });
    expect(command.status).toBe(403);
    expect(command.text).toContain('command tasks are disabled');
    expect(command.text).toContain('--allow-cmd-prefix echo');
  }, 60_000);
});
