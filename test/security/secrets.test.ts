import { describe, expect, it } from 'vitest';
import { useNamespace } from '../support/kube.ts';
import { runSecretLeakScenario } from '../support/security.ts';

// Thin wrapper: the scenario lives in test/support/security.ts for `npm run chaos -- security`.

const ns = useNamespace('security-secrets');

describe('secrets through failures, at debug level (issue 16 §5)', () => {
  it('never appear in a log line, an Event, a Canary status or /metrics', async () => {
    const report = await runSecretLeakScenario({ kube: ns.kube, namespace: ns.name });
    expect(report.leaks).toEqual([]);
    // The secrets were really used, and every kind of failure really happened.
    expect(report.unsent).toEqual([]);
    for (const mode of ['unauthorized', 'error', 'badjson', 'hang', 'ok'])
      expect(report.hits[mode] ?? 0, mode).toBeGreaterThan(0);
    expect(report.searched['controller log']).toBeGreaterThan(100);
    expect(report.searched.Event).toBeGreaterThan(0);
    for (const [kind, lines] of Object.entries(report.logged)) expect(lines, kind).toBeGreaterThan(0);
  }, 300_000);
});
