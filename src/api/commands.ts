// Manual commands (promote, abort, pause, resume, retry) travel as annotations on the
// Canary, not as spec fields: the spec belongs to Git, and a GitOps tool would revert or
// fight over a field that a person set by hand. See docs/decisions/0002-manual-commands.md.

export const COMMAND_ANNOTATION = 'sluice.dev/command';
export const COMMAND_ID_ANNOTATION = 'sluice.dev/command-id';

export const COMMANDS = ['promote', 'abort', 'pause', 'resume', 'retry'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CommandRequest {
  command: Command;
  /** Unique per request; the controller acts once per id (recorded in status.lastCommand.id). */
  id: string;
}

export type CommandReading =
  { kind: 'none' } | { kind: 'command'; request: CommandRequest } | { kind: 'invalid'; message: string };

/** Reads the command annotations of a Canary's metadata. */
export function readCommand(metadata: { annotations?: Record<string, string> } | undefined): CommandReading {
  const annotations = metadata?.annotations ?? {};
  const command = annotations[COMMAND_ANNOTATION];
  const id = annotations[COMMAND_ID_ANNOTATION];
  if (command === undefined || command === '') return { kind: 'none' };
  if (!(COMMANDS as readonly string[]).includes(command)) {
    return {
      kind: 'invalid',
      message: `metadata.annotations["${COMMAND_ANNOTATION}"]: "${command}" is not a command; expected one of ${COMMANDS.join(', ')}`,
    };
  }
  if (!id) {
    return {
      kind: 'invalid',
      message: `metadata.annotations["${COMMAND_ID_ANNOTATION}"] is required with ${COMMAND_ANNOTATION}: ${command}`,
    };
  }
  return { kind: 'command', request: { command: command as Command, id } };
}

/** The Event reason the machine gives a command that does not fit the phase (src/machine/ops.ts). */
export const COMMAND_IGNORED_REASON = 'CommandIgnored';

/** `status.lastCommand.result` for a command that was acted on. */
export const COMMAND_ACCEPTED = 'Accepted';

/**
 * What status.lastCommand.result says about a command: `Accepted`, or the machine's own
 * words when it ignored it (`abort ignored: the canary is Initialized`). `effects` are the
 * effects issued by the step the command was fed into (StepResult.issued).
 */
export function commandResult(
  effects: readonly { kind: string; reason?: string; message?: string }[],
): string {
  const ignored = effects.find(
    (effect) => effect.kind === 'recordEvent' && effect.reason === COMMAND_IGNORED_REASON,
  );
  return ignored?.message ?? COMMAND_ACCEPTED;
}

/** True when the request has not been acted on yet (its id differs from the last handled one). */
export function isPendingCommand(request: CommandRequest, lastHandled: { id: string } | undefined): boolean {
  return lastHandled?.id !== request.id;
}

/** The annotations a client sets to issue a command; `id` should be unique (a timestamp + random suffix). */
export function commandAnnotations(command: Command, id: string): Record<string, string> {
  return { [COMMAND_ANNOTATION]: command, [COMMAND_ID_ANNOTATION]: id };
}

/** A fresh command id: sortable by time, unique enough for people typing commands. */
export function newCommandId(now: Date, random: () => number = Math.random): string {
  const suffix = Math.floor(random() * 36 ** 6)
    .toString(36)
    .padStart(6, '0');
  return `${now.getTime().toString(36).padStart(9, '0')}-${suffix}`;
}
