import { z } from 'zod';
import type { Notification } from '../notify/notifier.ts';
import type { SlackButton } from './allowlist.ts';

// The buttons a Slack message carries, and what a press sends back: the action id names
// the button, the value the canary (and the gate). The controller trusts neither before
// the request's signature checks out, and re-reads the canary before acting.

export const GATES = ['confirm-rollout', 'confirm-promotion'] as const;
export type Gate = (typeof GATES)[number];

export const ACTION_PREFIX = 'sluice:';

export const ButtonValue = z.object({
  namespace: z.string().min(1).max(63),
  name: z.string().min(1).max(253),
  gate: z.enum(GATES).optional(),
});
export type ButtonValue = z.output<typeof ButtonValue>;

// The machine's wording (src/machine/ops.ts): "waiting for approval: <gate>" and
// "halt advancement: failed checks …".
const WAITING = /^waiting for approval: (confirm-rollout|confirm-promotion)$/;
const FAILING = /^halt advancement: failed checks/;

function button(
  kind: SlackButton,
  text: string,
  value: ButtonValue,
  style?: 'primary' | 'danger',
  confirm?: string,
) {
  return {
    type: 'button',
    action_id: `${ACTION_PREFIX}${kind}`,
    text: { type: 'plain_text', text },
    value: JSON.stringify(value),
    ...(style ? { style } : {}),
    ...(confirm
      ? {
          confirm: {
            title: { type: 'plain_text', text: 'Are you sure?' },
            text: { type: 'plain_text', text: confirm },
            confirm: { type: 'plain_text', text },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        }
      : {}),
  };
}

/** The actions block for a notification: a gate waiting or a failing canary; else none. */
export function actionsFor(notification: Notification) {
  const canary = { namespace: notification.canary.namespace, name: notification.canary.name };
  const title = `${canary.name}.${canary.namespace}`;
  const gate = WAITING.exec(notification.message)?.[1] as Gate | undefined;
  if (gate) {
    const value = { ...canary, gate };
    return {
      type: 'actions',
      block_id: `sluice-gate-${gate}`,
      elements: [
        button('approve', 'Approve', value, 'primary'),
        button('deny', 'Deny', value, 'danger', `Deny ${gate} of ${title} and roll it back?`),
      ],
    };
  }
  if (FAILING.test(notification.message)) {
    return {
      type: 'actions',
      block_id: 'sluice-failing',
      elements: [
        button('rollback', 'Roll back now', canary, 'danger', `Roll ${title} back now?`),
        button('pause', 'Pause', canary),
      ],
    };
  }
  return undefined;
}
