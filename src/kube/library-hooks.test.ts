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
