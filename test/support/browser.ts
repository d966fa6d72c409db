import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

// Web pages are tested in Debian's chromium, driven by playwright-core; never a browser
// downloaded by a tool. On a fresh machine of this kind the package is installed here
// (as root, with apt-get's progress on stderr), so `npm ci && npm test` needs nothing else.

export const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';

/** The flags this sandboxed, offline machine needs. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stderr.write(`▶ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/** Installs Debian's chromium when it is missing; throws with what to do when it cannot. */
export async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const root = process.getuid?.() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium) or set SLUICE_CHROMIUM`,
    );
  }
  const started = Date.now();
  await run('apt-get', ['update']);
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
  process.stderr.write(`✔ chromium installed (${((Date.now() - started) / 1000).toFixed(0)}s)\n`);
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is not there`);
  return CHROMIUM;
}

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile directory, removed on close. */
export async function launchBrowser(
  options: { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' } = {},
): Promise<TestBrowser> {
  const executablePath = await ensureChromium();
  const profile = await mkdtemp(join(tmpdir(), 'sluice-chromium-'));
  // A persistent context is how playwright takes a profile directory of our own.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
