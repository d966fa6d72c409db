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

/** Who pressed, and where. */
export interface Presser {
  actor: string;
  via: Via;
}

/** An Event on the Canary that says what a person did, from where, and who. */
async function recordPress(
  deps: Pick<ActionDeps, 'events'>,
  canary: CanaryRef,
  reason: string,
  what: string,
  { actor, via }: Presser,
): Promise<void> {
  await deps.events.record(subject(canary), 'Normal', reason, `${what} ${FROM[via]} by ${actor}`, { actor });
}

/** Issues a command as the CLI does and records who asked; returns the command id. */
export async function requestCommand(
  deps: ActionDeps,
  canary: CanaryRef,
  command: Command,
  by: Presser,
): Promise<string> {
  const id = await sendCommand(
    deps.kube,
    canary.namespace,
    canary.name,
    command,
    `sluice-${by.via.toLowerCase()}`,
  );
  await recordPress(deps, canary, 'CommandRequested', `${command} requested`, by);
  return id;
}

/** Records a gate answer given by a person (the gate itself is opened where it lives). */
export async function recordGateAnswer(
  deps: Pick<ActionDeps, 'events'>,
  canary: CanaryRef,
  answer: { gate: string; open: boolean },
  by: Presser,
): Promise<void> {
  const { gate, open } = answer;
  await recordPress(
    deps,
    canary,
    open ? 'GateOpened' : 'GateClosed',
    `${gate} gate ${open ? 'opened' : 'closed'}`,
    by,
  );
}
