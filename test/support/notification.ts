import type { Notification } from '../../src/notify/notifier.ts';

/** A halt notification with every field set, for the notifier unit tests. */
export const SAMPLE_NOTIFICATION: Notification = {
  canary: { name: 'podinfo', namespace: 'test' },
  phase: 'Progressing',
  severity: 'warn',
  message: 'halt: request-success-rate 93.1% < 99%',
  fields: {
    target: 'Deployment/podinfo.test',
    weight: 20,
    failedChecks: 2,
    threshold: 5,
    cluster: 'prod-eu',
  },
};
