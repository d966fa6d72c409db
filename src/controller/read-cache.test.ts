import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { WireObjectApi } from '../kube/wire.ts';
import { caughtUp, readThroughWire, type CacheLookup } from './read-cache.ts';

const deployment = (name: string, resourceVersion: string): KubernetesObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'test', resourceVersion },
});
const ref = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'test' },
});

/** A stand-in for the apiserver client that records what reached it. */
function fakeWire(server: Map<string, KubernetesObject>) {
  const calls: string[] = [];
  let version = 100;
  const wire = {
    async getObject(r: KubernetesObject) {
      calls.push(`get ${r.metadata?.name}`);
      const found = server.get(r.metadata?.name ?? '');
      if (!found) throw Object.assign(new Error('not found'), { code: 404 });
      return found;
    },
    async applyObject(object: KubernetesObject) {
      calls.push(`apply ${object.metadata?.name}`);
      const written = deployment(object.metadata?.name ?? '', String((version += 1)));
      server.set(object.metadata?.name ?? '', written);
      return written;
    },
    async mergePatchObject(r: KubernetesObject) {
      calls.push(`patch ${r.metadata?.name}`);
      const written = deployment(r.metadata?.name ?? '', String((version += 1)));
      server.set(r.metadata?.name ?? '', written);
      return written;
    },
    async deleteObject(r: KubernetesObject) {
      calls.push(`delete ${r.metadata?.name}`);
      server.delete(r.metadata?.name ?? '');
    },
    async listObjects() {
      calls.push('list');
      return [...server.values()];
    },
  };
  return { wire: wire as unknown as WireObjectApi, calls };
}

function informer(objects: KubernetesObject[]): { lookup: CacheLookup; set(o: KubernetesObject): void } {
  const cache = new Map(objects.map((o) => [o.metadata?.name ?? '', o]));
  return {
    lookup: (apiVersion, kind, namespace, name) =>
      apiVersion === 'apps/v1' && kind === 'Deployment' && namespace === 'test'
        ? { cached: true, object: cache.get(name) }
        : { cached: false },
    set: (o) => cache.set(o.metadata?.name ?? '', o),
  };
}

describe('readThroughWire', () => {
  it('serves reads from the informer, including "does not exist", without asking the apiserver', async () => {
    const { wire, calls } = fakeWire(new Map([['app', deployment('app', '5')]]));
    const cached = readThroughWire(wire, informer([deployment('app', '5')]).lookup);
    expect((await cached.getObject(ref('app'))).metadata?.resourceVersion).toBe('5');
    await expect(cached.getObject(ref('missing'))).rejects.toMatchObject({ code: 404 });
    expect(calls).toEqual([]);
  });

  it('reads from the apiserver what no informer covers', async () => {
    const { wire, calls } = fakeWire(new Map([['app', deployment('app', '5')]]));
    const cached = readThroughWire(wire, () => ({ cached: false }));
    await cached.getObject(ref('app'));
    expect(calls).toEqual(['get app']);
  });

  it('reads its own write back from the apiserver until the informer has caught up', async () => {
    const { wire, calls } = fakeWire(new Map([['app', deployment('app', '5')]]));
    const cache = informer([deployment('app', '5')]);
    const cached = readThroughWire(wire, cache.lookup);
    const written = await cached.applyObject(deployment('app', ''), { fieldManager: 'sluice', force: true });
    expect((await cached.getObject(ref('app'))).metadata?.resourceVersion).toBe(
      written.metadata?.resourceVersion,
    );
    expect(calls).toEqual(['apply app', 'get app']);

    cache.set(written);
    await cached.getObject(ref('app'));
    await cached.getObject(ref('app'));
    expect(calls).toEqual(['apply app', 'get app']);
  });

  it('treats a status or scale patch as a write too', async () => {
    const { wire, calls } = fakeWire(new Map([['app', deployment('app', '5')]]));
    const cached = readThroughWire(wire, informer([deployment('app', '5')]).lookup);
    await cached.mergePatchObject(ref('app'), { spec: { replicas: 0 } }, { subresource: 'scale' });
    await cached.getObject(ref('app'));
    expect(calls).toEqual(['patch app', 'get app']);
  });

  it('after a delete, trusts the informer only once the object is gone from it', async () => {
    const { wire, calls } = fakeWire(new Map([['app', deployment('app', '5')]]));
    const cache = informer([deployment('app', '5')]);
    const cached = readThroughWire(wire, cache.lookup);
    await cached.deleteObject(ref('app'));
    await expect(cached.getObject(ref('app'))).rejects.toMatchObject({ code: 404 });
    expect(calls).toEqual(['delete app', 'get app']);
  });

  it('passes everything else through to the real client', async () => {
    const { wire, calls } = fakeWire(new Map([['app', deployment('app', '5')]]));
    const cached = readThroughWire(wire, informer([]).lookup);
    expect(await cached.listObjects('apps/v1', 'Deployment', 'test')).toHaveLength(1);
    expect(calls).toEqual(['list']);
  });
});

describe('caughtUp', () => {
  it('compares resourceVersions as numbers and never guesses otherwise', () => {
    expect(caughtUp('10', '9')).toBe(true);
    expect(caughtUp('10', '10')).toBe(true);
    expect(caughtUp('9', '10')).toBe(false);
    expect(caughtUp(undefined, '10')).toBe(false);
    expect(caughtUp('abc', '10')).toBe(false);
  });
});
