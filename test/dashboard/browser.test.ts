import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { DemoLoad } from '../../src/dev/loadgen.ts';
import type { AppStack } from '../../src/dev/stack.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { APP, apply, deployIstioApp, demoDeployment, startStack, waitForBootstrap } from '../e2e/support.ts';
import { waitForCanary } from '../e2e/support.ts';

// The dashboard in Debian's chromium, against the real control plane: a real canary
// progresses (real traffic, real Prometheus), the list follows it live, its page draws the
// weight moving, and the Abort button rolls it back. Everything the page shows of user
// input is text: an Event message full of markup stays text.

const ns = useNamespace('dash-browser');
let stack: AppStack;
let traffic: DemoLoad;
let browser: TestBrowser;
let page: Page;

const XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>';

beforeAll(async () => {
  // Installs chromium first on a fresh machine (apt-get), hence the long hook timeout.
  browser = await launchBrowser();
  stack = await startStack(ns.name, { proxies: [{ service: APP }], dashboard: true });
  traffic = await deployIstioApp(stack, {
    stepWeights: [20, 40, 60],
    metrics: [{ name: 'request-success-rate', interval: '20s', thresholdRange: { min: 99 } }],
  });
  page = await browser.context.newPage();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await traffic?.stop();
  await stack?.stop();
});

const row = () => page.locator(`tr[data-canary="${ns.name}/${APP}"]`);

describe('dashboard in a real browser', () => {
  it('lists the canary live, draws its weight moving, and rolls it back on Abort', async () => {
    await waitForBootstrap(stack, traffic);
    await page.goto(stack.dashboardUrl!);
    await expect.poll(() => page.locator('.live-live').count(), { timeout: 15_000 }).toBe(1);
    await expect
      .poll(() => row().locator('[data-phase]').getAttribute('data-phase'), { timeout: 15_000 })
      .toBe('Initialized');

    // A new revision: the open list page follows it without a reload.
    await apply(ns.kube, demoDeployment(ns.name, '1.1.0'));
    await expect
      .poll(() => row().locator('[data-phase]').getAttribute('data-phase'), { timeout: 60_000 })
      .toBe('Progressing');
    await expect
      .poll(() => row().locator('.weight .num').textContent(), { timeout: 30_000 })
      .toMatch(/^[1-9]\d*%$/);

    // An Event with markup in its message: shown as text, never run.
    await ns.kube.core.createNamespacedEvent({
      namespace: ns.name,
      body: {
        metadata: { name: `${APP}.xss`, namespace: ns.name },
        involvedObject: { apiVersion: 'sluice.dev/v1alpha1', kind: 'Canary', name: APP, namespace: ns.name },
        type: 'Normal',
        reason: 'Probe',
        message: XSS,
        firstTimestamp: new Date(),
        lastTimestamp: new Date(),
        count: 1,
        source: { component: 'test' },
      },
    });

    await row().getByRole('link').click();
    await expect.poll(() => page.url()).toContain(`/canaries/${ns.name}/${APP}`);
    const chart = page.locator('.chart .plot[data-weight]').first();
    await expect.poll(() => chart.getAttribute('data-weight'), { timeout: 15_000 }).toMatch(/^[1-9]\d*$/);
    const first = Number(await chart.getAttribute('data-weight'));
    const firstPoints = Number(await chart.getAttribute('data-points'));
    // The weight chart moves on its own as the canary takes its next step.
    await expect
      .poll(async () => Number(await chart.getAttribute('data-weight')), { timeout: 60_000 })
      .toBeGreaterThan(first);
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(firstPoints);
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(1);

    const probe = page.locator('li[data-reason="Probe"] .text');
    await expect.poll(() => probe.textContent(), { timeout: 15_000 }).toContain(XSS);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.locator('li[data-reason="Probe"] img').count()).toBe(0);

    // Abort with the keyboard: focus the button, Enter, confirm.
    const abort = page.getByRole('button', { name: 'Abort', exact: true });
    await expect.poll(() => abort.isEnabled(), { timeout: 15_000 }).toBe(true);
    await abort.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Yes, abort' }).click();
    await expect
      .poll(() => page.locator('.result').textContent(), { timeout: 15_000 })
      .toContain('abort requested');

    const failed = await waitForCanary(ns.kube, ns.name, 'Failed', { timeoutMs: 30_000 });
    expect(failed.status?.message).toBe('rolling back: aborted by command');
    await expect
      .poll(() => page.locator('.canary-head [data-phase]').getAttribute('data-phase'), { timeout: 15_000 })
      .toBe('Failed');
    await expect.poll(() => chart.getAttribute('data-weight'), { timeout: 15_000 }).toBe('0');
    await expect
      .poll(() => page.locator('[data-testid="message"]').textContent(), { timeout: 15_000 })
      .toContain('rolling back: aborted by command');
    // The timeline says who asked for it.
    await expect
      .poll(() => page.locator('li[data-reason="CommandRequested"] .text').first().textContent(), {
        timeout: 15_000,
      })
      .toMatch(/abort requested from the dashboard by .+/);

    // Back on the list, the failed canary comes first and says so.
    await page.getByRole('link', { name: '← all canaries' }).click();
    await expect.poll(() => row().getAttribute('class'), { timeout: 15_000 }).toContain('failing');

    // The phone layout: the same page readable at 390 px, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    expect(overflow).toBeLessThanOrEqual(0);
    await eventually('the list still shows the canary', async () => (await row().count()) === 1);
  });
});
