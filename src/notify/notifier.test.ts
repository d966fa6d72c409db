import { describe, expect, it } from 'vitest';
import { SAMPLE_NOTIFICATION } from '../../test/support/notification.ts';
import { displayFields, headline, severityAllows, SEVERITIES } from './notifier.ts';

const sample = SAMPLE_NOTIFICATION;

describe('severityAllows', () => {
  it('info gets all, warn gets warn+error, error gets error', () => {
    const table = SEVERITIES.map((alert) => SEVERITIES.filter((message) => severityAllows(alert, message)));
    expect(table).toEqual([['info', 'warn', 'error'], ['warn', 'error'], ['error']]);
  });

  it('treats a missing alert severity as info', () => {
    expect(severityAllows(undefined, 'info')).toBe(true);
  });
});

describe('display', () => {
  it('names the canary name.namespace', () => {
    expect(headline(sample)).toBe('podinfo.test: halt: request-success-rate 93.1% < 99%');
  });

  it('lists target, phase, weight, failed checks and cluster in order', () => {
    expect(displayFields(sample)).toEqual([
      { title: 'Target', value: 'Deployment/podinfo.test' },
      { title: 'Phase', value: 'Progressing' },
      { title: 'Canary weight', value: '20%' },
      { title: 'Failed checks', value: '2/5' },
      { title: 'Cluster', value: 'prod-eu' },
    ]);
  });

  it("adds the release's deployment id and commit last", () => {
    expect(
      displayFields({
        ...sample,
        fields: { ...sample.fields, deploymentId: 'deploy-123', commitSha: 'abc123' },
      }).slice(-2),
    ).toEqual([
      { title: 'Deployment', value: 'deploy-123' },
      { title: 'Commit', value: 'abc123' },
    ]);
  });

  it('leaves out what is unknown and keeps a zero weight', () => {
    expect(displayFields({ ...sample, phase: '', fields: { weight: 0 } })).toEqual([
      { title: 'Canary weight', value: '0%' },
    ]);
  });
});
