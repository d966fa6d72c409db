import { createHash } from 'node:crypto';
import { z } from 'zod';
import { apiErrorMessage, isConflict, isNotFound, type Kube } from '../kube/client.ts';
import { coreResource, type ResourceRef } from '../kube/wire.ts';
import { rootMessage } from '../startup.ts';

/** Manual gates (`/gate/*`) and rollback gates (`/rollback/*`), per canary. */
export type GateKind = 'gate' | 'rollback';

/** Where gate state lives. A gate never opened is closed. */
export interface GateStore {
  isOpen(key: string): Promise<boolean>;
  set(key: string, open: boolean): Promise<void>;
  /** Where, in words: `configmap ns/name`, `memory`. */
  readonly location: string;
  /** Throws GateStoreError when gates could not be read or written (checked at start). */
  check(): Promise<void>;
}

const MAX_KEY = 253;

/**
 * The store key of one canary's gate: `gate.<namespace>.<name>` or
 * `rollback.<namespace>.<name>`. Namespaces have no dots, so keys never collide; anything
 * a ConfigMap key cannot hold is replaced, and over-long keys end in a hash.
 */
export function gateKey(kind: GateKind, canary: { name: string; namespace: string }): string {
  const key = `${kind}.${canary.namespace}.${canary.name}`.replace(/[^-._a-zA-Z0-9]/g, '_');
  if (key.length <= MAX_KEY) return key;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return `${key.slice(0, MAX_KEY - hash.length - 1)}-${hash}`;
}

/** Gate state in memory: for tests and for `--gate-store memory` (lost on restart). */
export class MemoryGateStore implements GateStore {
  readonly #open = new Map<string, boolean>();
  readonly location = 'memory';

  async check(): Promise<void> {}

  async isOpen(key: string): Promise<boolean> {
    return this.#open.get(key) ?? false;
  }

  async set(key: string, open: boolean): Promise<void> {
    this.#open.set(key, open);
  }
}

export class GateStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GateStoreError';
  }
}

const OPEN = 'open';
const CLOSED = 'closed';

/** What a gate's read needs of its ConfigMap. */
const ConfigMapData = z.object({ data: z.record(z.string(), z.string()).optional() });

/**
 * Gate state in one ConfigMap in the load tester's namespace, one key per gate, so an
 * opened gate survives a restart and a person can read it with kubectl. Writes are
 * JSON merge patches of a single key: two replicas or two gates never overwrite each
 * other. Reads go to the apiserver every time, so a `kubectl edit` counts at once.
 */
export class ConfigMapGateStore implements GateStore {
  readonly #kube: Pick<Kube, 'wire'>;
  readonly #configMaps: ResourceRef;
  readonly #namespace: string;
  readonly #name: string;

  constructor(options: { kube: Pick<Kube, 'wire'>; namespace: string; name: string }) {
    this.#kube = options.kube;
    this.#configMaps = coreResource('configmaps', options.namespace);
    this.#namespace = options.namespace;
    this.#name = options.name;
  }

  get location(): string {
    return `configmap ${this.#namespace}/${this.#name}`;
  }

  /**
   * Reads the ConfigMap and dry-runs the write a gate change makes (a patch, or a create
   * while it does not exist), so a store the load tester cannot use fails at start rather
   * than at the first gate call.
   */
  async check(): Promise<void> {
    let exists = true;
    try {
      await this.#kube.wire.readResource(this.#configMaps, this.#name);
    } catch (error) {
      if (!isNotFound(error)) throw new GateStoreError(`reading ${this.location}: ${rootMessage(error)}`);
      exists = false;
    }
    try {
      if (exists) {
        await this.#kube.wire.mergePatchResource(
          this.#configMaps,
          this.#name,
          { data: {} },
          { dryRun: true },
        );
      } else {
        await this.#kube.wire.createResource(
          this.#configMaps,
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: this.#name, namespace: this.#namespace } },
          { dryRun: true },
        );
      }
    } catch (error) {
      throw new GateStoreError(
        `${exists ? 'writing' : 'creating'} ${this.location} (dry run): ${rootMessage(error)}`,
      );
    }
  }

  async isOpen(key: string): Promise<boolean> {
    try {
      const configMap = ConfigMapData.parse(await this.#kube.wire.readResource(this.#configMaps, this.#name));
      return configMap.data?.[key] === OPEN;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw new GateStoreError(`reading gate ${key} from ${this.location}: ${apiErrorMessage(error)}`);
    }
  }

  async set(key: string, open: boolean): Promise<void> {
    const value = open ? OPEN : CLOSED;
    // A create can race another writer's create: then the patch wins on the second try.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await this.#kube.wire.mergePatchResource(this.#configMaps, this.#name, { data: { [key]: value } });
        return;
      } catch (error) {
        if (!isNotFound(error)) {
          throw new GateStoreError(`writing gate ${key} to ${this.location}: ${apiErrorMessage(error)}`);
        }
      }
      try {
        await this.#kube.wire.createResource(this.#configMaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: this.#name,
            namespace: this.#namespace,
            labels: {
              'app.kubernetes.io/name': 'sluice-loadtester',
              'app.kubernetes.io/component': 'gates',
            },
          },
          data: { [key]: value },
        });
        return;
      } catch (error) {
        if (!isConflict(error)) {
          throw new GateStoreError(`creating ${this.location} for gate ${key}: ${apiErrorMessage(error)}`);
        }
      }
    }
    throw new GateStoreError(`writing gate ${key} to ${this.location}: it kept changing, try again`);
  }
}
