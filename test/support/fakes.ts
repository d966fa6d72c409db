import type { ReleaseRead } from '../../src/api/release.ts';
import { ApiException, type KubernetesObject } from '@kubernetes/client-node';
import type { Canary } from '../../src/api/canary.ts';
import { PRIMARY_ONLY, type Routes } from '../../src/api/routes.ts';
import type { CanaryObject } from '../../src/controller/canary-object.ts';
import type { Kube } from '../../src/kube/client.ts';
import type { WireObjectApi } from '../../src/kube/wire.ts';
import type { EventSubject, RecordOutcome } from '../../src/notify/events.ts';
import type { Notification } from '../../src/notify/notifier.ts';
import {
  RoutesNotFoundError,
  type Router,
  type RouterCapabilities,
  type SetRoutesOptions,
} from '../../src/routers/router.ts';
import type { ReadinessState } from '../../src/targets/readiness.ts';
import type { Revision } from '../../src/targets/revision.ts';
import type { Target } from '../../src/targets/target.ts';

// In-memory fakes of what the controller talks to, for unit tests of the reconciler and
// the effect runner: a Kube whose wire client keeps Canaries in a map (merge patches,
// resourceVersions, conflicts, the status subresource), a target and a router that record
// their calls, and recorders for Events and notifications. Nothing here does I/O.

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386: null removes a key, objects merge, everything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Json = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** An error as @kubernetes/client-node throws it for an apiserver answer. */
export function apiError(code: number, message: string): ApiException<unknown> {
  return new ApiException(code, message, { message }, {});
}

/** Canaries held in memory, written as the apiserver would write them. */
export class FakeCanaryStore {
  readonly objects = new Map<string, CanaryObject>();
  /** Every merge patch received, in order. */
  readonly patches: { name: string; subresource: string | undefined; patch: Json }[] = [];
  /** Conflicts to answer before the next patches succeed (each answer moves resourceVersion, as a spec edit would). */
  conflicts = 0;
  #version = 1;

  put(object: CanaryObject): CanaryObject {
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(++this.#version);
    this.objects.set(`${stored.metadata.namespace}/${stored.metadata.name}`, stored);
    return structuredClone(stored);
  }

  get(namespace: string, name: string): CanaryObject | undefined {
    const object = this.objects.get(`${namespace}/${name}`);
    return object && structuredClone(object);
  }

  /** What the controller's client may call; anything else fails the test loudly. */
  readonly wire = {
    getObject: async <T>(ref: KubernetesObject): Promise<T> => {
      const object = this.get(ref.metadata?.namespace ?? '', ref.metadata?.name ?? '');
      if (!object) throw apiError(404, `${ref.kind} ${ref.metadata?.name} not found`);
      return object as T;
    },
    mergePatchObject: async <T>(
      ref: KubernetesObject,
      patch: unknown,
      options: { subresource?: string } = {},
    ): Promise<T> => {
      const namespace = ref.metadata?.namespace ?? '';
      const name = ref.metadata?.name ?? '';
      const current = this.get(namespace, name);
      if (!current) throw apiError(404, `${ref.kind} ${name} not found`);
      const body = patch as { metadata?: { resourceVersion?: string } & Json; status?: unknown };
      this.patches.push({ name, subresource: options.subresource, patch: structuredClone(body) as Json });
      if (this.conflicts > 0) {
        this.conflicts -= 1;
        this.put(current);
        throw apiError(409, `${ref.kind} ${name}: the object has been modified`);
      }
      const expected = body.metadata?.resourceVersion;
      if (expected !== undefined && expected !== current.metadata.resourceVersion) {
        throw apiError(409, `${ref.kind} ${name}: resourceVersion ${expected} is not the latest`);
      }
      const { resourceVersion: _guard, ...metadata } = body.metadata ?? {};
      const next: CanaryObject =
        options.subresource === 'status'
          ? { ...current, status: mergePatch(current.status, body.status) as CanaryObject['status'] }
          : { ...current, metadata: mergePatch(current.metadata, metadata) as CanaryObject['metadata'] };
      return this.put(next) as T;
    },
  };

  /** A Kube whose wire client is this store; every other client throws when used. */
  kube(): Kube {
    const absent = new Proxy(
      {},
      {
        get: (_target, property) => {
          throw new Error(`fake Kube: ${String(property)} is not faked`);
        },
      },
    );
    const unused = absent as never;
    return {
      kc: unused,
      objects: unused,
      wire: this.wire as unknown as WireObjectApi,
      core: unused,
      apps: unused,
      autoscaling: unused,
      networking: unused,
      custom: unused,
      coordination: unused,
      events: unused,
    };
  }
}

/** A target whose revision and readiness the test sets; records what it was asked to do. */
export class FakeTarget implements Target {
  readonly kind = 'Deployment' as const;
  revisionNow = 'rev-1';
  /** The DORA annotations the target's revision carries. */
  release: ReleaseRead | undefined;
  canary: ReadinessState = 'ready';
  primary: ReadinessState = 'ready';
  /** Fails the next calls of these methods with this error. */
  readonly failing = new Map<string, Error>();
  readonly calls: string[] = [];

  #call(what: string): void {
    this.calls.push(what);
    const error = this.failing.get(what.split(' ')[0]!);
    if (error) throw error;
  }

  #revision(): Revision {
    return {
      revision: this.revisionNow,
      podTemplateHash: this.revisionNow,
      configs: {},
      ...(this.release ? { release: this.release } : {}),
    };
  }

  async pods() {
    return { selector: { label: 'app', value: 'podinfo' }, ports: { http: 9898 } };
  }

  async revision(): Promise<Revision> {
    this.#call('revision');
    return this.#revision();
  }

  async readiness() {
    return {
      canary: { state: this.canary, message: `canary ${this.canary}` },
      primary: { state: this.primary, message: `primary ${this.primary}` },
    };
  }

  async promote(_canary: Canary, options: { revision?: string } = {}) {
    this.#call(`promote ${options.revision ?? ''}`);
    const applied = options.revision === undefined || options.revision === this.revisionNow;
    return { applied, revision: this.#revision(), writes: applied ? 1 : 0, message: '' };
  }

  async bootstrap(): Promise<never> {
    throw new Error('FakeTarget: bootstrap is not part of the reconcile');
  }

  async scaleCanary(_canary: Canary, to: 'up' | 'zero') {
    this.#call(`scale ${to}`);
    return { replicas: to === 'up' ? 1 : 0, written: true };
  }

  async restore() {
    this.#call('restore');
    return { state: this.canary, message: `target ${this.canary}` };
  }

  async removePrimary() {
    this.#call('removePrimary');
    return { deleted: ['Deployment/podinfo-primary'] };
  }
}

/** A router that keeps the routes it was given; a test may change them to play a hand edit. */
export class FakeRouter implements Router {
  readonly provider = 'fake';
  readonly capabilities: RouterCapabilities = { weights: true, mirror: true, match: true };
  routes: Routes | undefined;
  readonly calls: string[] = [];
  /** Fails setRoutes with this error while it is set (routes back to the primary still pass). */
  failSetRoutes: Error | undefined;
  /** Fails every setRoutes with this error while it is set, the primary's too (an apiserver answering 503). */
  failEverySetRoutes: Error | undefined;

  async reconcile(): Promise<void> {
    this.calls.push('reconcile');
    this.routes ??= { ...PRIMARY_ONLY };
  }

  async setRoutes(canary: Canary, routes: SetRoutesOptions): Promise<void> {
    if (!this.routes) throw new RoutesNotFoundError(canary.metadata.name, 'fake route', false);
    this.calls.push(`setRoutes ${routes.primaryWeight}/${routes.canaryWeight}`);
    if (this.failEverySetRoutes) throw this.failEverySetRoutes;
    if (this.failSetRoutes && routes.primaryWeight !== 100) throw this.failSetRoutes;
    const { mirrorWeight: _mirrorWeight, ...rest } = routes;
    this.routes = rest;
  }

  async getRoutes(canary: Canary): Promise<Routes> {
    if (!this.routes) throw new RoutesNotFoundError(canary.metadata.name, 'fake route', false);
    return { ...this.routes };
  }

  async finalize(): Promise<void> {
    this.calls.push('finalize');
  }
}

/** Kubernetes Events as recorded: `Type Reason: message`. */
export class RecordedEvents {
  readonly events: string[] = [];
  /** The annotations each Event was given, by `Type Reason: message`. */
  readonly annotations = new Map<string, Record<string, string>>();
  /** Idempotency keys recorded: a repeat of one is `exists` and adds nothing (as the keyed Event's name does). */
  readonly keys = new Set<string>();
  async record(
    _subject: EventSubject,
    type: string,
    reason: string,
    message: string,
    options: { annotations?: Record<string, string>; key?: string } = {},
  ): Promise<RecordOutcome> {
    if (options.key !== undefined) {
      if (this.keys.has(options.key)) return 'exists';
      this.keys.add(options.key);
    }
    this.events.push(`${type} ${reason}: ${message}`);
    if (options.annotations) this.annotations.set(`${type} ${reason}: ${message}`, options.annotations);
    return 'created';
  }
}

export class RecordedNotifications {
  readonly sent: Notification[] = [];
  async notify(_alerts: unknown, notification: Notification) {
    this.sent.push(notification);
    return { sent: [], failed: [] };
  }
}

/** A Canary as the informer would hold it (spec as a person writes it, defaults not applied). */
export function canaryObject(
  analysis: Json = {},
  spec: Json = {},
  metadata: Partial<CanaryObject['metadata']> = {},
): CanaryObject {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'podinfo', namespace: 'shop', uid: 'uid-1', generation: 1, ...metadata },
    spec: {
      provider: 'istio',
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
      service: { port: 9898 },
      analysis: { interval: '1m', threshold: 2, stepWeight: 50, maxWeight: 50, ...analysis },
      ...spec,
    },
  };
}

/** One of each fake, as a reconcile meets them. */
export function fakeWorld() {
  return {
    store: new FakeCanaryStore(),
    target: new FakeTarget(),
    router: new FakeRouter(),
    events: new RecordedEvents(),
    notifications: new RecordedNotifications(),
  };
}
