import type { PolicyRule } from './render.ts';

// What the controller's code does against the Kubernetes API, and what it must never be
// able to do: test/deploy/rbac.test.ts asks the apiserver both as the ServiceAccount of
// deploy/, and `npm run chaos -- security` compares them with the rendered rules.

export interface Access {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  /** Default: the test namespace; '' asks cluster-wide. */
  namespace?: string;
  name?: string;
}

export const describeAccess = (a: Access) =>
  `${a.verb} ${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}` +
  `${a.name ? ` ${a.name}` : ''} in ${a.namespace === '' ? 'all namespaces' : (a.namespace ?? 'its namespace')}`;

const each = (verbs: string[], rest: Omit<Access, 'verb'>): Access[] =>
  verbs.map((verb) => ({ verb, ...rest }));
const LEASES = { group: 'coordination.k8s.io', resource: 'leases' };
const CLUSTER_ROLES = { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespace: '' };
const routing = [
  ['networking.istio.io', 'virtualservices'],
  ['networking.istio.io', 'destinationrules'],
  ['gateway.networking.k8s.io', 'httproutes'],
  ['split.smi-spec.io', 'trafficsplits'],
  ['networking.k8s.io', 'ingresses'],
  ['projectcontour.io', 'httpproxies'],
  ['traefik.io', 'traefikservices'],
  ['kuma.io', 'meshhttproutes'],
  ['apisix.apache.org', 'apisixroutes'],
  ['gateway.networking.k8s.io', 'grpcroutes'],
  ['gateway.networking.k8s.io', 'tcproutes'],
] as const;
/** The routing objects whose informers the controller starts besides VirtualServices and HTTPRoutes. */
const CACHED_ROUTING = routing.slice(5);

/** What the controller's code does (src/controller, targets, routers, analysis, notify). */
export const NEEDED: Access[] = [
  ...each(['list', 'watch'], { group: 'sluice.dev', resource: 'canaries', namespace: '' }),
  ...each(['get', 'patch'], { group: 'sluice.dev', resource: 'canaries' }),
  { verb: 'patch', group: 'sluice.dev', resource: 'canaries', subresource: 'status' },
  { verb: 'update', group: 'sluice.dev', resource: 'canaries', subresource: 'finalizers' },
  { verb: 'get', group: 'sluice.dev', resource: 'metrictemplates', namespace: 'istio-system' },
  { verb: 'get', group: 'sluice.dev', resource: 'alertproviders' },
  ...['deployments', 'daemonsets'].flatMap((resource) => [
    ...each(['list', 'watch'], { group: 'apps', resource, namespace: '' }),
    ...each(['get', 'create', 'patch', 'delete'], { group: 'apps', resource }),
  ]),
  { verb: 'list', group: 'apps', resource: 'replicasets' },
  // StatefulSet targets (src/targets/statefulset.ts): the partition, and a rollback's old template.
  ...each(['list', 'watch'], { group: 'apps', resource: 'statefulsets', namespace: '' }),
  ...each(['get', 'patch'], { group: 'apps', resource: 'statefulsets' }),
  { verb: 'get', group: 'apps', resource: 'controllerrevisions' },
  ...each(['get', 'create', 'patch', 'delete'], {
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
  }),
  ...['configmaps', 'secrets'].flatMap((resource) => [
    ...each(['list', 'watch'], { resource, namespace: '' }),
    ...each(['get', 'create', 'patch'], { resource }),
  ]),
  ...each(['get', 'create', 'patch', 'delete'], { resource: 'services' }),
  { verb: 'list', resource: 'pods' },
  // A StatefulSet rollback deletes the pods of the abandoned revision (they come back on the old one).
  { verb: 'delete', resource: 'pods' },
  // Events: an announcement's chat message waits on its Event (labelled sluice.dev/chat) until sent.
  ...each(['get', 'list', 'create', 'patch'], { resource: 'events' }),
  ...routing.flatMap(([group, resource]) => each(['get', 'create', 'patch', 'delete'], { group, resource })),
  // The routing objects read at every step (and the Services and DestinationRules each bootstrap reads) come from informers.
  ...each(['list', 'watch'], { resource: 'services', namespace: '' }),
  ...each(['list', 'watch'], { group: 'networking.istio.io', resource: 'virtualservices', namespace: '' }),
  ...each(['list', 'watch'], { group: 'networking.istio.io', resource: 'destinationrules', namespace: '' }),
  ...each(['list', 'watch'], { group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: '' }),
  ...CACHED_ROUTING.flatMap(([group, resource]) =>
    each(['list', 'watch'], { group, resource, namespace: '' }),
  ),
  // A Knative target's traffic block (src/routers/knative.ts): read, watched and patched, never created.
  ...each(['get', 'patch'], { group: 'serving.knative.dev', resource: 'services' }),
  ...each(['list', 'watch'], { group: 'serving.knative.dev', resource: 'services', namespace: '' }),
  // Whether a knative Canary's primary revision still serves (src/targets/knative.ts).
  { verb: 'get', group: 'serving.knative.dev', resource: 'revisions' },
  { verb: 'create', ...LEASES },
  ...each(['get', 'update'], { ...LEASES, name: 'sluice-controller' }),
];

/** What it never does, and must not be able to. */
export const DENIED: Access[] = [
  { verb: '*', resource: 'secrets', namespace: '' },
  ...each(['delete', 'update', 'deletecollection'], { resource: 'secrets' }),
  ...each(['delete', 'update'], { resource: 'configmaps' }),
  { verb: 'create', resource: 'pods' },
  { verb: 'deletecollection', resource: 'pods' },
  { verb: 'create', resource: 'pods', subresource: 'exec' },
  { verb: 'create', resource: 'serviceaccounts', subresource: 'token' },
  { verb: 'deletecollection', group: 'apps', resource: 'deployments' },
  { verb: 'update', group: 'apps', resource: 'deployments' },
  ...each(['create', 'update', 'delete'], { group: 'sluice.dev', resource: 'canaries' }),
  ...each(['create', 'patch', 'delete'], { group: 'sluice.dev', resource: 'metrictemplates' }),
  ...each(['create', 'delete'], { resource: 'namespaces', namespace: '' }),
  { verb: 'get', resource: 'nodes', namespace: '' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', namespace: '' },
  ...each(['escalate', 'bind'], CLUSTER_ROLES),
  { verb: 'impersonate', resource: 'users', namespace: '' },
  { verb: 'delete', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', namespace: '' },
  // The Lease: only its own, only in its own namespace.
  ...each(['get', 'update'], { ...LEASES, name: 'kube-controller-manager' }),
  ...each(['create', 'update'], { ...LEASES, namespace: 'kube-system' }),
  { verb: 'delete', ...LEASES, name: 'sluice-controller' },
];

/** `verb group/resource`, the unit a rule grants and the controller needs, namespaces aside. */
const grantKey = (verb: string, group: string, resource: string) => `${verb} ${group || 'core'}/${resource}`;

/** Rules against NEEDED: wildcard grants, grants nothing needs, needs nothing grants. */
export function rbacMismatch(rules: readonly PolicyRule[]): {
  wildcards: string[];
  unneeded: string[];
  missing: string[];
} {
  const granted = new Set<string>();
  for (const rule of rules)
    for (const group of rule.apiGroups)
      for (const resource of rule.resources)
        for (const verb of rule.verbs) granted.add(grantKey(verb, group, resource));
  const needed = new Set(
    NEEDED.map((a) =>
      grantKey(a.verb, a.group ?? '', a.subresource ? `${a.resource}/${a.subresource}` : a.resource),
    ),
  );
  return {
    wildcards: [...granted].filter((key) => key.includes('*')).sort(),
    unneeded: [...granted].filter((key) => !needed.has(key)).sort(),
    missing: [...needed].filter((key) => !granted.has(key)).sort(),
  };
}
