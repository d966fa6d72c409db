// What client-node's own kubeconfig loader (dist/config.js) and generic object client
// (dist/object.js) import from its generated index: the same bindings, without the index's
// every API class and model. src/kube/library-hooks.ts points those two imports here.
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
export { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
export { HttpMethod } from '@kubernetes/client-node/dist/gen/http/http.js';
