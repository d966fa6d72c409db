import { describe, expect, it } from 'vitest';
import { eventually } from '../support/kube.ts';
import { sluice } from '../support/sluice.ts';
import { APP, expectInOrder, IMAGE, SUCCESS_RATE, useScenario } from './support.ts';

// Scenario 7: a person aborts a healthy release mid-analysis with `sluice abort`. The
// canary is rolled back and stays Failed — the same revision does not start again on its
// own — until `sluice retry` runs the analysis again, which then promotes it. Real traffic
// through the Istio stand-in; the built-in success rate from the real Prometheus.

const s = useScenario('e2e-abort', {
  canary: () => ({
    provider: 'istio',
    analysis: { interval: '10s', threshold: 2, stepWeights: [25, 50], metrics: [SUCCESS_RATE] },
  }),
});
const { ns } = s;

const commandId = (stdout: string) => /\(command id ([^)]+)\)/.exec(stdout)?.[1];

describe('e2e: manual abort through the CLI', () => {
  it('rolls back on `sluice abort`, stays Failed, and runs again on `sluice retry`', async () => {
    await s.bootstrapped();

    await s.deploy('1.1.0');
    await s.waitFor((c) => c.status?.phase === 'Progressing' && c.status.canaryWeight === 25, {
      timeoutMs: 60_000,
    });

    const abort = await sluice(['abort', APP, '-n', ns.name]);
    expect(abort.stderr).toBe('');
    expect(abort.code).toBe(0);
    expect(abort.stdout).toContain(`abort requested for canary ${ns.name}/${APP}`);
    const abortId = commandId(abort.stdout);
    expect(abortId).toBeTruthy();

    const failed = await s.waitFor('Failed', { timeoutMs: 30_000 });
    await s.recorder.catchUp();
    expect(failed.status?.message).toBe('rolling back: aborted by command');
    expect(failed.status?.canaryWeight).toBe(0);
    expect(failed.status?.lastCommand).toMatchObject({
      id: abortId,
      command: 'abort',
      handledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expectInOrder(s.recorder.phases(), ['Progressing', 'Failed']);
    expect(s.recorder.weights()).not.toContain(50);
    await s.expectIstioOnPrimary();
    expect((await s.primary()).image).toBe(`${IMAGE}:1.0.0`);
    await eventually('the canary scaled to zero', async () => (await s.targetReplicas()) === 0);
    expect(await s.events()).toContain('rolling back: aborted by command');
    await s.waitForSlack('Slack told about the rollback', 'rolling back: aborted by command');

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
    const after = s.recorder.samples.filter((x) => x.at >= since);
    expect(new Set(after.map((x) => x.phase))).toEqual(new Set(['Failed']));
    expect(new Set(after.map((x) => x.canaryWeight))).toEqual(new Set([0]));

    // `sluice retry` runs the analysis of the same revision again; healthy, it is promoted.
    s.recorder.reset();
    const retry = await sluice(['retry', APP, '-n', ns.name]);
    expect(retry.code).toBe(0);
    const retryId = commandId(retry.stdout);
    const done = await s.waitFor('Succeeded', { timeoutMs: 90_000 });
    await s.recorder.catchUp();
    expect(done.status?.lastCommand).toMatchObject({ id: retryId, command: 'retry' });
    expectInOrder(s.recorder.phases(), ['Failed', 'Progressing', 'Succeeded']);
    expectInOrder(s.recorder.weights(), [25, 50, 0]);
    expect((await s.primary()).image).toBe(`${IMAGE}:1.1.0`);
    expect(done.status?.lastAnalysis).toEqual([
      expect.objectContaining({ name: 'request-success-rate', passed: true, value: 100 }),
    ]);
  });
});
