import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Informer, collectionPath, listInPages } from '../../src/controller/informers.ts';
import type { Kube } from '../../src/kube/client.ts';
import { ApiException } from '../../src/kube/library.ts';
import { silentLogger } from '../../src/log.ts';
import { eventually, spyingWire, useNamespace } from '../support/kube.ts';

// An informer lists its collection in pages (src/controller/informers.ts, LIST_PAGE_SIZE): a
// relist of tens of thousands of objects taken whole parsed ~100 MB beside the cache at once.

const ns = useNamespace('informer-pages');

/** The kube client with every request's query recorded. */
function recording(kube: Kube): { kube: Kube; queries: Record<string, string | undefined>[] } {
  const queries: Record<string, string | undefined>[] = [];
  const wire = spyingWire(kube.wire, 'request', (args) => queries.push({ ...args[2]?.query }));
  return { kube: { ...kube, wire }, queries };
}

describe('an informer over a collection larger than a page', () => {
  it('lists it in pages of one snapshot, then watches from it', async () => {
    const labels = { 'sluice.dev/test': 'pages' };
    for (let i = 0; i < 7; i++) {
      await ns.kube.core.createNamespacedConfigMap({
        namespace: ns.name,
        body: { metadata: { name: `page-${i}`, labels }, data: { i: String(i) } },
      });
    }
    const { kube, queries } = recording(ns.kube);
    const seen = new Set<string>();
    const informer = new Informer<KubernetesObject>(
      kube,
      collectionPath('', 'v1', 'configmaps', ns.name),
      silentLogger,
      (event, object) => {
        if (event === 'add') seen.add(String(object.metadata?.name));
      },
      { labelSelector: 'sluice.dev/test=pages', pageSize: 3 },
    );
    await informer.start();
    try {
      expect(
        informer
          .list()
          .map((o) => o.metadata?.name)
          .sort(),
      ).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `page-${i}`));
      // Three pages (3 + 3 + 1), each but the first continuing the one before.
      expect(queries.map((q) => [q.limit, q.continue === undefined ? 'first' : 'continued'])).toEqual([
        ['3', 'first'],
        ['3', 'continued'],
        ['3', 'continued'],
      ]);
      expect(queries.every((q) => q.labelSelector === 'sluice.dev/test=pages')).toBe(true);
      // Cached slimmed, as before: a managedFields entry keeps its manager, not its fields.
      const [entry] = informer.get('page-0', ns.name)?.metadata?.managedFields ?? [];
      expect(entry?.manager).toBeTruthy();
      expect(entry?.fieldsV1).toBeUndefined();
      // The watch starts from the list's snapshot: an object created now arrives as an add.
      await ns.kube.core.createNamespacedConfigMap({
        namespace: ns.name,
        body: { metadata: { name: 'page-7', labels } },
      });
      await eventually('page-7 seen by the watch', async () => seen.has('page-7'));
      expect(informer.list()).toHaveLength(8);
    } finally {
      await informer.stop();
    }
  });
});

describe('listInPages when a continue token expires (410 Gone)', () => {
  /** A collection of `total` objects served in pages; a continue token fails while `expiries` lasts. */
  function fakeKube(total: number, expiries: number) {
    const requests: Record<string, string | undefined>[] = [];
    let left = expiries;
    let snapshot = 100;
    const request = (
      _method: unknown,
      _path: string,
      options: { query?: Record<string, string | undefined> },
    ) => {
      const query = options.query ?? {};
      requests.push(query);
      if (query.continue !== undefined && left > 0) {
        left -= 1;
        return Promise.reject(new ApiException(410, 'Gone', { message: 'continue token expired' }, {}));
      }
      if (query.continue === undefined) snapshot += 1;
      const from = Number(query.continue ?? 0);
      const to = query.limit === undefined ? total : Math.min(total, from + Number(query.limit));
      const items = Array.from({ length: to - from }, (_, i) => ({
        metadata: { name: `o-${from + i}`, managedFields: [{ manager: 'x', fieldsV1: { 'f:data': {} } }] },
      }));
      return Promise.resolve({
        items,
        metadata: { resourceVersion: String(snapshot), ...(to < total ? { continue: String(to) } : {}) },
      });
    };
    return { kube: { wire: { request } } as unknown as Kube, requests };
  }

  it('starts over once with a new snapshot', async () => {
    const { kube, requests } = fakeKube(5, 1);
    const list = await listInPages(kube, '/api/v1/configmaps', {}, 2);
    expect(list.items.map((o) => o.metadata?.name)).toEqual(['o-0', 'o-1', 'o-2', 'o-3', 'o-4']);
    expect(list.items[0]?.metadata?.managedFields).toEqual([{ manager: 'x' }]);
    expect(list.metadata.resourceVersion).toBe('102');
    expect(requests.map((q) => q.continue ?? '-')).toEqual(['-', '2', '-', '2', '4']);
  });

  it('takes the list whole after a second expiry', async () => {
    const { kube, requests } = fakeKube(5, 2);
    const list = await listInPages(kube, '/api/v1/configmaps', {}, 2);
    expect(list.items).toHaveLength(5);
    expect(requests.map((q) => `${q.limit ?? 'all'}:${q.continue ?? '-'}`)).toEqual([
      '2:-',
      '2:2',
      '2:-',
      '2:2',
      'all:-',
    ]);
  });

  it('passes any other error on', async () => {
    const kube = {
      wire: { request: () => Promise.reject(new ApiException(403, 'Forbidden', {}, {})) },
    } as unknown as Kube;
    await expect(listInPages(kube, '/api/v1/configmaps', {}, 2)).rejects.toMatchObject({ code: 403 });
  });
});
