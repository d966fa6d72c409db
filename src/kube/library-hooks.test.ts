import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { redirectedTo } from './library-hooks.ts';

const DIST = 'file:///app/node_modules/@kubernetes/client-node/dist/';

describe('redirectedTo', () => {
  it("points config.js's generated index and object.js's api.js at the subset", () => {
    expect(redirectedTo('./gen/index.js', `${DIST}config.js`)).toMatch(/\/client-subset\.ts$/);
    expect(redirectedTo('./api.js', `${DIST}object.js`)).toMatch(/\/client-subset\.ts$/);
  });

  it('leaves every other import alone, the package root included', () => {
    expect(redirectedTo('./api.js', `${DIST}index.js`)).toBeUndefined();
    expect(redirectedTo('./gen/index.js', `${DIST}api.js`)).toBeUndefined();
    expect(redirectedTo('./gen/index.js', 'file:///app/src/config.js')).toBeUndefined();
    expect(redirectedTo('@kubernetes/client-node', undefined)).toBeUndefined();
  });
});

// In a fresh process as bin/sluice.js runs it: the hooks first, then the library's subset.
const CHILD = `
import { registerHooks } from 'node:module';
const resolved = [];
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); resolved.push(result.url); return result; } });
await import(new URL('./library-hooks.ts', process.env.HERE).href);
const lib = await import(new URL('./library.ts', process.env.HERE).href);
const generated = () => resolved.some((url) => url.endsWith('/gen/types/ObservableAPI.js'));
const kc = new lib.KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: true }],
  users: [{ name: 'u', token: 't' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
});
const objects = lib.KubernetesObjectApi.makeApiClient(kc);
const before = generated();
const whole = lib.wholeLibrary();
const core = kc.makeApiClient(whole.CoreV1Api);
process.stdout.write(JSON.stringify({
  objects: typeof objects.read,
  before,
  after: generated(),
  sameKubeConfig: whole.KubeConfig === lib.KubeConfig,
  sameHttpMethod: whole.HttpMethod === lib.HttpMethod,
  core: typeof core.readNamespacedSecret,
}));
`;

describe('the library subset', () => {
  it('loads the kubeconfig loader and the object client without the generated APIs, and the whole library on demand', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, HERE: import.meta.url },
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual({
      objects: 'function',
      before: false,
      after: true,
      sameKubeConfig: true,
      sameHttpMethod: true,
      core: 'function',
    });
  });
});

// The controller's run-time calls (Events, chat marks, Secrets, AlertProviders,
// MetricTemplates) through the hooks, as bin/sluice.js runs them. The apiserver address
// refuses connections: each call fails, but whatever client it uses has been loaded by then.
const RUNTIME = `
import { registerHooks } from 'node:module';
const resolved = [];
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); resolved.push(result.url); return result; } });
await import(new URL('./library-hooks.ts', process.env.HERE).href);
const here = (path) => import(new URL(path, process.env.HERE).href);
await here('../cli/controller.ts');
const { KubeConfig } = await here('./library.ts');
const { connect } = await here('./client.ts');
const { EventRecorder } = await here('../notify/events.ts');
const { kubeChatStore } = await here('../notify/outbox.ts');
const { kubeNotifierResolver } = await here('../notify/dispatcher.ts');
const { kubeSecretReader } = await here('../hooks/webhook.ts');
const { kubeLookups } = await here('../analysis/kube.ts');
const generated = () => resolved.some((url) => url.endsWith('/gen/types/ObservableAPI.js'));
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
  users: [{ name: 'u', token: 't' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
});
const kube = connect(kc);
const canary = { apiVersion: 'sluice.dev/v1alpha1', kind: 'Canary', name: 'web', namespace: 'ns' };
const events = new EventRecorder({ kube, instance: 'test' });
const outcomes = [await events.record(canary, 'Normal', 'Synced', 'one'), await events.record(canary, 'Normal', 'Synced', 'one')];
const store = kubeChatStore(kube);
const lookups = kubeLookups(kube);
const calls = [
  store.mark({ namespace: 'ns', name: 'web.1' }),
  store.setMark({ namespace: 'ns', name: 'web.1' }, 'sent'),
  store.listPending('ns'),
  kubeSecretReader(kube)('ns', 'hook-credentials'),
  kubeNotifierResolver(kube)({ namespace: 'ns', name: 'slack' }),
  lookups.getTemplate({ namespace: 'ns', name: 'error-rate' }),
  lookups.getCredentials('ns', { name: 'prometheus' }),
];
const settled = await Promise.allSettled(calls);
process.stdout.write(JSON.stringify({
  outcomes,
  rejected: settled.filter((s) => s.status === 'rejected').length,
  generated: generated(),
}));
`;

describe('the controller at run time', () => {
  it('records Events and reads Secrets, AlertProviders and MetricTemplates without loading the generated APIs', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', RUNTIME], {
      env: { ...process.env, HERE: import.meta.url },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toEqual({ outcomes: ['failed', 'failed'], rejected: 7, generated: false });
  });
});
