import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { sluice } from '../support/sluice.ts';
import {
  APP,
  apply,
  demoCanary,
  demoDeployment,
  eventMessages,
  expectInOrder,
  IMAGE,
  load,
  primaryContainer,
  Recorder,
  slackLines,
  startStack,
  targetReplicas,
  virtualServiceWeights,
  waitForBootstrap,
  waitForCanary,
} from './support.ts';

// Scenario 7: a person aborts a healthy release mid-analysis with `sluice abort`. The
// canary is rolled back and stays Failed — the same revision does not start again on its
// own — until `sluice retry` runs the analysis again, which then promotes it. Real traffic
// through the Istio stand-in; the built-in success rate from the real Prometheus.

const ns = useNamespace('e2e-abort');
let stack: AppStack;
let traffic: DemoLoad;
let recorder: Recorder;

beforeAll(async () => {
  stack = await startStack(ns.name, { proxies: [{ service: APP }] });
  await apply(ns.kube, demoDeployment(ns.name, '1.0.0'));
  await apply(
    ns.kube,
    demoCanary(ns.name, {
      provider: 'istio',
      analysis: {
        interval: '10s',
        threshold: 2,
        stepWeights: [25, 50],
        metrics: [{ name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } }],
      },
    }),
  );
  traffic = load(stack.runtime.proxies[0]!.url);
  recorder = new Recorder(ns.kube, ns.name, { main: traffic }).start();
});

afterAll(async () => {
  recorder?.stop();
  await traffic?.stop();
  await stack?.stop();
});

const commandId = (stdout: string) => /\(command id ([^)]+)\)/.exec(stdout)?.[1];

describe('e2e: manual abort through the CLI', () => {
  it('rolls back on `sluice abort`, stays Failed, and runs again on `sluice retry`', async () => {
    await waitForBootstrap(stack, traffic);
    recorder.reset();

    await apply(ns.kube, demoDeployment(ns.name, '1.1.0'));
    await waitForCanary(
      ns.kube,
      ns.name,
      (c) => c.status?.phase === 'Progressing' && c.status.canaryWeight === 25,
      {
        timeoutMs: 60_000,
      },
    );

    const abort = await sluice(['abort', APP, '-n', ns.name]);
    expect(abort.stderr).toBe('');
    expect(abort.code).toBe(0);
    expect(abort.stdout).toContain(`abort requested for canary ${ns.name}/${APP}`);
    const abortId = commandId(abort.stdout);
    expect(abortId).toBeTruthy();

    const failed = await waitForCanary(ns.kube, ns.name, 'Failed', { timeoutMs: 30_000 });
    await recorder.catchUp();
    expect(failed.status?.message).toBe('rolling back: aborted by command');
    expect(failed.status?.canaryWeight).toBe(0);
    expect(failed.status?.lastCommand).toMatchObject({
      id: abortId,
      command: 'abort',
      handledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expectInOrder(recorder.phases(), ['Progressing', 'Failed']);
    expect(recorder.weights()).not.toContain(50);
    expect(await virtualServiceWeights(ns.kube, ns.name)).toEqual({
      [`${APP}-primary`]: 100,
      [`${APP}-canary`]: 0,
    });
    expect((await primaryContainer(ns.kube, ns.name)).image).toBe(`${IMAGE}:1.0.0`);
    await eventually('the canary scaled to zero', async () => (await targetReplicas(ns.kube, ns.name)) === 0);
    expect(await eventMessages(ns.kube, ns.name)).toContain('rolling back: aborted by command');
    await eventually('Slack told about the rollback', async () =>
      slackLines(stack).includes(`${APP}.${ns.name}: rolling back: aborted by command`),
    );

    // What a person sees: `sluice status` and `sluice get` say Failed and why.
    const status = await sluice(['status', APP, '-n', ns.name]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/Phase\s+Failed/);
    expect(status.stdout).toContain('rolling back: aborted by command');
    const get = await sluice(['get', '-n', ns.name]);
    expect(get.stdout).toMatch(new RegExp(`${APP}\\s+.*Failed`));

    // The same revision stays Failed: no new analysis starts by itself over two intervals.
    const since = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 22_000));
    const after = recorder.samples.filter((s) => s.at >= since);
    expect(new Set(after.map((s) => s.phase))).toEqual(new Set(['Failed']));
    expect(new Set(after.map((s) => s.canaryWeight))).toEqual(new Set([0]));

    // `sluice retry` runs the analysis of the same revision again; healthy, it is promoted.
    recorder.reset();
    const retry = await sluice(['retry', APP, '-n', ns.name]);
    expect(retry.code).toBe(0);
    const retryId = commandId(retry.stdout);
    const done = await waitForCanary(ns.kube, ns.name, 'Succeeded', { timeoutMs: 90_000 });
    await recorder.catchUp();
    expect(done.status?.lastCommand).toMatchObject({ id: retryId, command: 'retry' });
    expectInOrder(recorder.phases(), ['Failed', 'Progressing', 'Succeeded']);
    expectInOrder(recorder.weights(), [25, 50, 0]);
    expect((await primaryContainer(ns.kube, ns.name)).image).toBe(`${IMAGE}:1.1.0`);
    expect(done.status?.lastAnalysis).toEqual([
      expect.objectContaining({ name: 'request-success-rate', passed: true, value: 100 }),
    ]);
  });
});
