import { describe, expect, it } from 'vitest';
import { commandAnnotations, isPendingCommand, newCommandId, readCommand } from './commands.ts';

describe('readCommand', () => {
  it('reads a command and its id', () => {
    expect(readCommand({ annotations: commandAnnotations('promote', 'abc') })).toEqual({
      kind: 'command',
      request: { command: 'promote', id: 'abc' },
    });
  });

  it('is none without the annotation', () => {
    expect(readCommand(undefined)).toEqual({ kind: 'none' });
    expect(readCommand({ annotations: { other: 'x' } })).toEqual({ kind: 'none' });
  });

  it('rejects unknown commands and commands without an id, naming the annotation', () => {
    expect(
      readCommand({ annotations: { 'sluice.dev/command': 'ship-it', 'sluice.dev/command-id': '1' } }),
    ).toEqual({
      kind: 'invalid',
      message:
        'metadata.annotations["sluice.dev/command"]: "ship-it" is not a command; expected one of promote, abort, pause, resume, retry',
    });
    expect(readCommand({ annotations: { 'sluice.dev/command': 'abort' } })).toEqual({
      kind: 'invalid',
      message: 'metadata.annotations["sluice.dev/command-id"] is required with sluice.dev/command: abort',
    });
  });
});

describe('isPendingCommand', () => {
  it('is pending until its id has been handled', () => {
    const request = { command: 'promote' as const, id: 'b' };
    expect(isPendingCommand(request, undefined)).toBe(true);
    expect(isPendingCommand(request, { id: 'a' })).toBe(true);
    expect(isPendingCommand(request, { id: 'b' })).toBe(false);
  });
});

describe('newCommandId', () => {
  it('is time-ordered and differs per call', () => {
    const a = newCommandId(new Date(1_000), () => 0.1);
    const b = newCommandId(new Date(2_000), () => 0.2);
    expect(a).not.toBe(b);
    expect(a.split('-')[0]! < b.split('-')[0]!).toBe(true);
    expect(a).toMatch(/^[0-9a-z]+-[0-9a-z]{6}$/);
  });
});
