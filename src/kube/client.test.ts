import { CoreV1Api, HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { connect, reuseConnections, withWire } from './client.ts';

// No network: an undici Agent connects only when a request is sent through it. client-node
// makes an Agent only when there are TLS options, hence the (dummy) CA and client certificates.
function kubeConfig(user = 'admin'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server: 'https://127.0.0.1:6443', caData: 'Y2E=', skipTLSVerify: false }],
    users: [
      { name: 'admin', token: 'admin-token', certData: 'YWRtaW4=', keyData: 'a2V5' },
      { name: 'viewer', token: 'viewer-token', certData: 'dmlld2Vy', keyData: 'a2V5' },
    ],
    contexts: [
      { name: 'admin', cluster: 'local', user: 'admin' },
      { name: 'viewer', cluster: 'local', user: 'viewer' },
    ],
    currentContext: user,
  });
  return kc;
}

async function dispatcherOf(kc: KubeConfig) {
  const context = new RequestContext('https://127.0.0.1:6443/api/v1/pods', HttpMethod.GET);
  await kc.applySecurityAuthentication(context);
  return { dispatcher: context.getDispatcher(), headers: context.getHeaders() };
}

describe('reuseConnections', () => {
  it('hands every request the same connection pool (client-node alone builds one per request)', async () => {
    const plain = kubeConfig();
    expect((await dispatcherOf(plain)).dispatcher).not.toBe((await dispatcherOf(plain)).dispatcher);

    const kc = reuseConnections(kubeConfig());
    const first = await dispatcherOf(kc);
    const second = await dispatcherOf(kc);
    expect(first.dispatcher).toBeDefined();
    expect(second.dispatcher).toBe(first.dispatcher);
  });

  it('still applies the credentials to each request', async () => {
    const kc = reuseConnections(kubeConfig());
    await dispatcherOf(kc);
    expect((await dispatcherOf(kc)).headers.Authorization).toBe('Bearer admin-token');
  });

  it('keeps separate pools for separate credentials, and wrapping twice changes nothing', async () => {
    const kc = reuseConnections(reuseConnections(kubeConfig()));
    const admin = await dispatcherOf(kc);
    kc.setCurrentContext('viewer');
    const viewer = await dispatcherOf(kc);
    expect(viewer.dispatcher).not.toBe(admin.dispatcher);
    expect(viewer.headers.Authorization).toBe('Bearer viewer-token');
    kc.setCurrentContext('admin');
    expect((await dispatcherOf(kc)).dispatcher).toBe(admin.dispatcher);
  });
});

describe('connect', () => {
  it('makes each generated client once, at its first use, and keeps it through withWire', () => {
    const kube = connect(kubeConfig());
    expect(Object.keys(kube).sort()).toEqual(
      [
        'apps',
        'autoscaling',
        'coordination',
        'core',
        'custom',
        'events',
        'kc',
        'networking',
        'objects',
        'wire',
      ].sort(),
    );
    expect(kube.core).toBeInstanceOf(CoreV1Api);
    expect(kube.core).toBe(kube.core);
    const other = connect(kubeConfig()).wire;
    const cached = withWire(kube, other);
    expect(cached.wire).toBe(other);
    expect(cached.core).toBe(kube.core);
    expect(kube.wire).not.toBe(other);
    expect(Object.keys(cached).sort()).toEqual(Object.keys(kube).sort());
  });
});
