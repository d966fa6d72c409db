import type { Command } from '../api/commands.ts';
import { sendCommand } from '../cli/canaries.ts';
import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../notify/events.ts';

// What a person's button does, from the dashboard or from Slack: the same annotation
// commands as the CLI, written with the server's own identity, and an Event on the Canary
// that says who asked (the timeline shows it).

export interface ActionDeps {
  kube: Kube;
  events: EventRecorder;
}

export interface CanaryRef {
  namespace: string;
  name: string;
}

const subject = (canary: CanaryRef) => ({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Canary', ...canary });

/** Where a press came from: names the field manager and the words of the Event. */
export type Via = 'dashboard' | 'Slack';
const FROM: Record<Via, string> = { dashboard: 'from the dashboard', Slack: 'from Slack' };

/** Issues a command as the CLI does and records who asked; returns the command id. */
export async function requestCommand(
  deps: ActionDeps,
  canary: CanaryRef,
  command: Command,
  actor: string,
  via: Via,
): Promise<string> {
  const id = await sendCommand(
    deps.kube,
    canary.namespace,
    canary.name,
    command,
    `sluice-${via.toLowerCase()}`,
  );
  await deps.events.record(
    subject(canary),
    'Normal',
    'CommandRequested',
    `${command} requested ${FROM[via]} by ${actor}`,
    { actor },
  );
  return id;
}

/** Records a gate answer given by a person (the gate itself is opened where it lives). */
export async function recordGateAnswer(
  deps: Pick<ActionDeps, 'events'>,
  canary: CanaryRef,
  gate: string,
  open: boolean,
  actor: string,
  via: Via,
): Promise<void> {
  await deps.events.record(
    subject(canary),
    'Normal',
    open ? 'GateOpened' : 'GateClosed',
    `${gate} gate ${open ? 'opened' : 'closed'} ${FROM[via]} by ${actor}`,
    { actor },
  );
}
