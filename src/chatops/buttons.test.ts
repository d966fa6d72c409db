import { describe, expect, it } from 'vitest';
import { slackPayload } from '../notify/slack.ts';
import type { Notification } from '../notify/notifier.ts';
import { actionsFor, ButtonValue } from './buttons.ts';

const note = (message: string, severity: Notification['severity'] = 'warn'): Notification => ({
  canary: { name: 'podinfo', namespace: 'prod' },
  phase: 'WaitingPromotion',
  severity,
  message,
  fields: {},
});

describe('Slack buttons', () => {
  it('puts approve and deny on a gate that waits, naming the canary and the gate', () => {
    const block = actionsFor(note('waiting for approval: confirm-promotion'));
    expect(block?.elements.map((e) => e.action_id)).toEqual(['sluice:approve', 'sluice:deny']);
    expect(ButtonValue.parse(JSON.parse(block!.elements[0]!.value))).toEqual({
      namespace: 'prod',
      name: 'podinfo',
      gate: 'confirm-promotion',
    });
    expect(block?.elements[1]).toHaveProperty('confirm');
  });

  it('puts roll back and pause on a failing canary', () => {
    const block = actionsFor(note('halt advancement: failed checks 1/2: request-success-rate: 90 < min 99'));
    expect(block?.elements.map((e) => e.action_id)).toEqual(['sluice:rollback', 'sluice:pause']);
  });

  it('puts none on other messages', () => {
    expect(actionsFor(note('advance canary weight 20', 'info'))).toBeUndefined();
    expect(actionsFor(note('waiting for approval: confirm-traffic-increase'))).toBeUndefined();
  });

  it('adds the block only when the controller receives the presses', () => {
    const gate = note('waiting for approval: confirm-rollout');
    expect(slackPayload(gate, {}).blocks).toHaveLength(1);
    const blocks = slackPayload(gate, { interactive: true }).blocks as { type: string }[];
    expect(blocks.map((b) => b.type)).toEqual(['section', 'actions']);
  });
});
