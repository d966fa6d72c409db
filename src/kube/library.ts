import { createRequire } from 'node:module';
import type * as ClientNode from '@kubernetes/client-node';

// The parts of @kubernetes/client-node the controller loads at start-up, imported from their
// own modules. The package's root (`@kubernetes/client-node`) loads every generated API class
// and model of every API group (about 1050 modules, 18 MB of source V8 keeps in the heap);
// the controller talks to the apiserver through WireObjectApi and needs few of them. The
// package has no "exports" map, so these paths are the package's own files (decision
// 0029-client-node-subset). Type-only imports from the root cost nothing and stay as they are.

export { KubeConfig } from '@kubernetes/client-node/dist/config.js';
export { Watch } from '@kubernetes/client-node/dist/watch.js';
export { ListWatch } from '@kubernetes/client-node/dist/cache.js';
export { KubernetesObjectApi } from '@kubernetes/client-node/dist/object.js';
export { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
export { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
export { HttpMethod } from '@kubernetes/client-node/dist/gen/http/http.js';
export { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';

type Library = typeof ClientNode;

const require = createRequire(import.meta.url);
let library: Library | undefined;

/**
 * The whole library, for the generated API classes (CoreV1Api, CustomObjectsApi, …):
 * loaded at the first use of one (synchronously, Node's require of an ES module), so a
 * controller that has not read a Secret or written an Event does not carry them.
 */
export function wholeLibrary(): Library {
  library ??= require('@kubernetes/client-node') as Library;
  return library;
}
