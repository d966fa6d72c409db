import type { Canary } from '../api/canary.ts';
import { readCommand } from '../api/commands.ts';
import type { ReleaseRead } from '../api/release.ts';
import type { CanaryStatus, HandledCommand } from '../api/status.ts';
import type { Logger } from '../log.ts';
import type { Observation } from '../machine/types.ts';
import type { EventRecorder, EventSubject } from '../notify/events.ts';
import type { Target } from '../targets/target.ts';
import type { CanaryObject } from './canary-object.ts';

// The first step of a reconcile: what the world says now, as machine observations. The
// target's revision and readiness are read every time (from the informers' cache where
// there is one); a command annotation is acted on once per id.

export interface Seen {
  /** The revision, readiness and a new command, when there is one, in that order. */
  observations: Observation[];
  /** Checksums of the ConfigMaps and Secrets the target reads (status.trackedConfigs). */
  trackedConfigs: Record<string, string>;
  /** The target's revision now, and the release its annotations describe. */
  revision: string;
  release: ReleaseRead | undefined;
  /** The command last acted on, this one when it is new (status.lastCommand). */
  lastCommand: HandledCommand | undefined;
  now: number;
}

export async function observe(
  canary: Canary,
  object: CanaryObject,
  target: Target,
  previous: CanaryStatus,
  deps: { now: number; events: Pick<EventRecorder, 'record'>; subject: EventSubject; log: Logger },
): Promise<Seen> {
  const { now } = deps;
  const revision = await target.revision(canary);
  const readiness = await target.readiness(canary);
  const observations: Observation[] = [
    { type: 'REVISION', now, revision: revision.revision },
    {
      type: 'READINESS',
      now,
      canary: readiness.canary.state,
      primary: readiness.primary.state,
      ...(readiness.primary.state === 'ready' ? {} : { primaryMessage: readiness.primary.message }),
    },
  ];
  let lastCommand = previous.lastCommand;
  const command = readCommand(object.metadata);
  if (command.kind === 'command' && command.request.id !== lastCommand?.id) {
    observations.push({ type: 'MANUAL', now, command: command.request.command });
    lastCommand = {
      id: command.request.id,
      command: command.request.command,
      handledAt: new Date(now).toISOString(),
    };
    deps.log.info({ command: command.request.command, id: command.request.id }, 'manual command');
  } else if (command.kind === 'invalid') {
    void deps.events.record(deps.subject, 'Warning', 'InvalidCommand', command.message);
  }
  return {
    observations,
    trackedConfigs: revision.configs,
    revision: revision.revision,
    release: revision.release,
    lastCommand,
    now,
  };
}
