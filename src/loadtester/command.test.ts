import { describe, expect, it } from 'vitest';
import { CommandSyntaxError, isAllowed, splitCommand } from './command.ts';

describe('splitCommand', () => {
  it('splits words, quotes and escapes like a shell', () => {
    expect(splitCommand('hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/')).toEqual([
      'hey',
      '-z',
      '1m',
      '-q',
      '10',
      '-c',
      '2',
      'http://podinfo-canary.test:9898/',
    ]);
    expect(splitCommand(`curl -sd 'a b' -H "x-y: \\"z\\"" a\\ b ''`)).toEqual([
      'curl',
      '-sd',
      'a b',
      '-H',
      'x-y: "z"',
      'a b',
      '',
    ]);
    expect(splitCommand("hey 'http://a/?x=1&y=$2'")).toEqual(['hey', 'http://a/?x=1&y=$2']);
  });

  it.each([
    'curl a | grep b',
    'hey a; rm -rf /',
    'hey $URL',
    'hey `id`',
    'cat < /etc/passwd',
    'a && b',
    'echo "$(id)"',
  ])('refuses shell syntax: %s', (line) => {
    expect(() => splitCommand(line)).toThrow(CommandSyntaxError);
  });

  it('refuses empty commands and open quotes', () => {
    expect(() => splitCommand('   ')).toThrow('the command is empty');
    expect(() => splitCommand('hey "a')).toThrow('unterminated " quote');
  });
});

describe('isAllowed', () => {
  const prefixes = [['hey'], ['kubectl', 'rollout', 'status']];

  it('allows commands that start with a prefix, word for word', () => {
    expect(isAllowed(['hey', '-z', '1m', 'http://a/'], prefixes)).toBe(true);
    expect(isAllowed(['kubectl', 'rollout', 'status', 'deploy/podinfo'], prefixes)).toBe(true);
  });

  it('refuses everything else', () => {
    expect(isAllowed(['heyo', 'x'], prefixes)).toBe(false);
    expect(isAllowed(['kubectl', 'delete', 'ns', 'prod'], prefixes)).toBe(false);
    expect(isAllowed(['kubectl', 'rollout'], prefixes)).toBe(false);
    expect(isAllowed(['hey'], [])).toBe(false);
    expect(isAllowed(['hey'], [[]])).toBe(false);
  });
});
