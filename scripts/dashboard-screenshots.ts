// Makes the screenshots of docs/dashboard.md: the demo's canary on the local control plane
// (a healthy release mid-rollout, then a bad one rolled back), shot in Debian's chromium.
//
//   npm run screenshots                       # starts and removes its own control plane
//   npm run screenshots -- --cluster .sluice/dev   # reuses a running `sluice dev up`

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../test/support/browser.ts';
import { down, env as clusterEnv, up, type ClusterEnv } from '../src/dev/cluster.ts';
import { deployDemoApp, demoDeployment, readStatus, startDemoStack } from '../src/dev/demo.ts';
import { startDemoLoad } from '../src/dev/loadgen.ts';
import { consoleProgress } from '../src/dev/progress.ts';
import { applyManifest } from '../src/dev/stack.ts';
import { connect, isNotFound, loadKubeConfig } from '../src/kube/client.ts';
import { createLogger } from '../src/log.ts';

const OUT = 'docs/images';
const TIMEOUT_MS = 6 * 60_000;

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`screenshots: ${what} did not happen in ${TIMEOUT_MS / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** A reused control plane may hold an earlier run's demo: start from an empty namespace. */
async function removeDemoNamespace(env: ClusterEnv): Promise<void> {
  const kube = connect(loadKubeConfig(env.kubeconfig));
  try {
    await kube.core.deleteNamespace({ name: 'demo' });
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  await until(
    'the old demo namespace to go',
    () =>
      kube.core.readNamespace({ name: 'demo' }).then(
        () => false,
        (error: unknown) => isNotFound(error),
      ),
    (gone) => gone,
  );
}

async function shot(page: Page, name: string): Promise<void> {
  // Charts redraw on the next frame after data arrives.
  await page.waitForTimeout(800);
  const path = join(OUT, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  process.stdout.write(`✔ ${path}\n`);
}

async function main(): Promise<void> {
  const reuse = process.argv.indexOf('--cluster');
  const progress = consoleProgress();
  const stateDir = reuse > 0 ? process.argv[reuse + 1]! : '.sluice/screenshots';
  const owned = reuse < 0;
  const env: ClusterEnv | undefined = owned ? await up({ stateDir, progress }) : await clusterEnv(stateDir);
  if (!env) throw new Error(`no running control plane in ${stateDir} (sluice dev up --dir ${stateDir})`);
  await mkdir(OUT, { recursive: true });
  if (!owned) await removeDemoNamespace(env);
  const stack = await progress.step('starting the demo stack with the dashboard', () =>
    startDemoStack(env, 'istio', createLogger({ level: 'warn', name: 'screenshots' })),
  );
  const browser = await launchBrowser({ viewport: { width: 1280, height: 860 } });
  const load = startDemoLoad({ url: `${stack.runtime.proxies[0]!.url}/`, rps: 20 });
  try {
    await deployDemoApp(stack, 'istio');
    const status = () => readStatus(stack.kube).catch(() => ({}) as Awaited<ReturnType<typeof readStatus>>);
    const initialized = await until('bootstrap', status, (s) => s.phase === 'Initialized');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const page = await browser.context.newPage();
    const canaryPage = `${stack.dashboardUrl!}canaries/demo/podinfo`;

    await applyManifest(stack.kube, demoDeployment('1.1.0'));
    await until('the healthy release at 40%', status, (s) => (s.canaryWeight ?? 0) >= 40);
    await page.goto(stack.dashboardUrl!);
    await shot(page, 'dashboard-list');
    await page.goto(canaryPage);
    await until('the metric checks', status, (s) => (s.lastAnalysis?.length ?? 0) > 0);
    await shot(page, 'dashboard-canary-progressing');
    const good = await until(
      'the promotion',
      status,
      (s) => s.lastAppliedSpec !== initialized.lastAppliedSpec && s.phase === 'Succeeded',
    );

    await applyManifest(stack.kube, demoDeployment('1.2.0', { ERROR_RATE: '0.3', LATENCY_MS: '40' }));
    await until(
      'the rollback',
      status,
      (s) => s.lastAppliedSpec !== good.lastAppliedSpec && s.phase === 'Failed',
    );
    await page.goto(canaryPage);
    await shot(page, 'dashboard-canary-rolled-back');
    await page.goto(stack.dashboardUrl!);
    await shot(page, 'dashboard-list-failed');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(canaryPage);
    await shot(page, 'dashboard-phone');
  } finally {
    await browser.close();
    await load.stop().catch(() => undefined);
    await stack.stop();
    if (owned) await down(stateDir);
  }
}

main().catch((error: unknown) => {
  console.error(`screenshots: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
