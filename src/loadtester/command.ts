import { execFile } from 'node:child_process';

// `type: cmd` (and Flagger's bash/kubectl/helm types) run a program WITHOUT a shell,
// and only when the operator allowed its prefix with --allow-cmd-prefix.

export class CommandSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandSyntaxError';
  }
}

const SHELL_OPERATORS = new Set(['|', '&', ';', '<', '>', '`', '$', '(', ')']);

/**
 * Splits a command line into argv the way a shell would for plain words, quotes and
 * backslashes, and refuses what only a shell could run (pipes, redirects, variables,
 * substitutions): the load tester does not start a shell.
 */
export function splitCommand(line: string): string[] {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i]!;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && i + 1 < line.length && '"\\'.includes(line[i + 1]!)) word += line[++i];
      else if (char === '$' || char === '`') throw shellError(char);
      else word += char;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else if (SHELL_OPERATORS.has(char)) {
      throw shellError(char);
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new CommandSyntaxError(`unterminated ${quote} quote in the command`);
  if (inWord) argv.push(word);
  if (argv.length === 0) throw new CommandSyntaxError('the command is empty');
  return argv;
}

function shellError(char: string): CommandSyntaxError {
  return new CommandSyntaxError(
    `"${char}" needs a shell, and the load tester runs commands without one: no pipes, redirects, ` +
      'variables or substitutions; quote it if it is part of an argument',
  );
}

/** Whether argv begins with one of the allowed prefixes, word for word ("hey" does not allow "heyo"). */
export function isAllowed(argv: readonly string[], prefixes: ReadonlyArray<readonly string[]>): boolean {
  return prefixes.some(
    (prefix) =>
      prefix.length > 0 && prefix.length <= argv.length && prefix.every((word, i) => argv[i] === word),
  );
}

export interface CommandResult {
  ok: boolean;
  exitCode: number | null;
  output: string;
  durationMs: number;
}

/** Output kept from a command (the tail, where errors are). */
const MAX_OUTPUT = 64 * 1024;

export function runCommand(
  argv: readonly string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, signal, windowsHide: true },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        const tail = output.length > MAX_OUTPUT ? output.slice(-MAX_OUTPUT) : output;
        const durationMs = Math.round(performance.now() - started);
        if (!error) return resolve({ ok: true, exitCode: 0, output: tail, durationMs });
        const code = typeof error.code === 'number' ? error.code : null;
        const reason =
          error.code === 'ENOENT'
            ? `${argv[0]}: command not found`
            : error.killed
              ? `killed after ${timeoutMs}ms (timeout)`
              : `exit code ${code ?? error.code ?? 'unknown'}`;
        resolve({
          ok: false,
          exitCode: code,
          output: `${tail}${tail.endsWith('\n') || !tail ? '' : '\n'}${reason}`,
          durationMs,
        });
      },
    );
  });
}
