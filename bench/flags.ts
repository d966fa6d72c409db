import { InvalidArgumentError, Option, type Command } from 'commander';

// Number flags of `npm run bench` and `npm run chaos`.

export const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got ${value}`);
  return n;
};

export const nonNegativeInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer ≥ 0, got ${value}`);
  return n;
};

/** One flag of a command: commander's spelling, its help, its default and how its value is read. */
export interface Flag<T> {
  flags: string;
  description: string;
  fallback: T;
  parse?: (value: string) => T;
  choices?: readonly string[];
}

export function flag<T>(
  flags: string,
  description: string,
  fallback: T,
  parse?: (value: string) => T,
): Flag<T> {
  return { flags, description, fallback, ...(parse ? { parse } : {}) };
}

/** Flags every chaos scenario and bench run takes. */
export const KEEP = flag('--keep', 'leave the control plane running afterwards', false);
export const INTERVAL = flag('--interval <duration>', 'spec.analysis.interval', '10s');

type FlagValues<S> = { [K in keyof S]: S[K] extends Flag<infer T> ? T : never };

/**
 * Adds the flags of `specs` to `command` and runs `action` with their values under the specs'
 * keys, typed by the specs, so a command's options object needs no renaming or casts.
 */
export function withFlags<S extends Record<string, Flag<unknown>>>(
  command: Command,
  specs: S,
  action: (values: FlagValues<S>) => Promise<void>,
): Command {
  const names = Object.entries(specs).map(([key, spec]) => {
    const option = new Option(spec.flags, spec.description).default(spec.fallback);
    if (spec.parse) option.argParser(spec.parse);
    if (spec.choices) option.choices(spec.choices);
    command.addOption(option);
    return [key, option.attributeName()] as const;
  });
  return command.action(async (opts: Record<string, unknown>) => {
    await action(Object.fromEntries(names.map(([key, name]) => [key, opts[name]])) as FlagValues<S>);
  });
}
