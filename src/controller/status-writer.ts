import type { CanaryStatus } from '../api/status.ts';
import { apiErrorMessage, isConflict, isNotFound, type Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import { MACHINE_STATUS_FIELDS } from '../machine/driver.ts';
import { canaryRef, type CanaryObject } from './canary-object.ts';
import { deepEqual, mergePatchDiff, withoutNulls } from './merge-patch.ts';
import type { ControllerMetrics } from './metrics.ts';

// Status writes of every canary: one JSON merge patch of the status subresource, guarded
// by resourceVersion, retried on a conflict with a spec change. A status whose change can
// wait (the machine says so: readiness settled, a re-armed tick) is held back and written
// with the canary's next write that counts, or at a clean shutdown
// (docs/decisions/0007-write-budget.md). A crash in between loses only that: on restart
// readiness is observed again (the unready time counted meanwhile brings a progress
// deadline nearer, never further: it fails safe) and an overdue tick runs at once.

interface Written {
  /** The newest status: the one last written, or one held back. */
  latest: CanaryStatus | undefined;
  /** The status as the apiserver has it: last written, or read before the first write. */
  stored: CanaryStatus | undefined;
  /** `latest` is held back: the object to write it on at the next write or at shutdown. */
  heldOn: CanaryObject | undefined;
  resourceVersion: string | undefined;
}

export interface WriteOptions {
  /** The machine says nothing changed that anyone acts on (StepResult.happened.canWait). */
  canWait?: boolean;
  /** Write status.heldBy now even when nothing else changed: this shard is about to act. */
  claim?: boolean;
}

/** Compares resourceVersions, which are etcd revisions in practice (opaque by contract). */
function newerVersion(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  try {
    return BigInt(a) >= BigInt(b) ? a : b;
  } catch {
    return b;
  }
}

/** A status merge patch that only sets status.heldBy. */
function onlyClaim(patch: unknown): boolean {
  return typeof patch === 'object' && patch !== null && Object.keys(patch).join() === 'heldBy';
}

/** A status merge patch that touches only what the machine derives (nothing the reconciler adds). */
function onlyMachineFields(patch: unknown): boolean {
  return (
    typeof patch === 'object' &&
    patch !== null &&
    Object.keys(patch).every((field) => MACHINE_STATUS_FIELDS.has(field))
  );
}

export interface StatusWriterDeps {
  kube: Pick<Kube, 'wire'>;
  metrics: ControllerMetrics;
  /** Whether this replica's shard still owns the Canary (its label); see shard.ts. */
  owns?(object: CanaryObject): boolean;
  /**
   * Written into status.heldBy with every status write: the shard acting on the Canary. After a
   * relabel the old shard writes what it already did, then clears it (`release`); the new shard
   * waits for that (decision 0027-sharding).
   */
  holder?: HeldBy;
}

export type HeldBy = NonNullable<CanaryStatus['heldBy']>;

/** The Canary was relabelled to another shard while this replica worked on it. */
export class CanaryMovedError extends Error {
  constructor(object: CanaryObject) {
    super(
      `Canary ${object.metadata.namespace}/${object.metadata.name} moved to another shard; its status is left to that shard`,
    );
    this.name = 'CanaryMovedError';
  }
}

export class StatusWriter {
  private readonly canaries = new Map<string, Written>();
  private readonly deps: StatusWriterDeps;

  constructor(deps: StatusWriterDeps) {
    this.deps = deps;
  }

  private of(key: string, object: CanaryObject): Written {
    let written = this.canaries.get(key);
    if (!written) {
      written = {
        latest: object.status,
        stored: object.status,
        heldOn: undefined,
        resourceVersion: object.metadata.resourceVersion,
      };
      this.canaries.set(key, written);
    }
    return written;
  }

  /** The canary's newest status: held back, written, or as the object carries it. */
  latest(key: string, object: CanaryObject): CanaryStatus {
    return this.of(key, object).latest ?? object.status ?? {};
  }

  forget(key: string): void {
    this.canaries.delete(key);
  }

  reset(): void {
    this.canaries.clear();
  }

  /**
   * Writes `status` as one merge patch of what changed since the stored status; nothing
   * when nothing changed. With `canWait`, a change of the machine's fields only is held back.
   */
  async write(
    key: string,
    object: CanaryObject,
    status: CanaryStatus,
    log: Logger,
    options: WriteOptions = {},
  ): Promise<void> {
    const written = this.of(key, object);
    const before = written.stored ?? object.status ?? {};
    if (this.deps.holder) status = { ...status, heldBy: this.deps.holder };
    const diff = mergePatchDiff(before, status);
    // The shard's claim alone waits for a write that counts: an idle canary costs no write for it.
    if (
      diff === undefined ||
      (onlyClaim(diff) && !options.claim) ||
      (options.canWait && onlyMachineFields(diff))
    ) {
      written.latest = status;
      written.heldOn = diff === undefined || onlyClaim(diff) ? undefined : object;
      if (diff !== undefined)
        log.debug('only readiness or the next tick moved; written with the next status change');
      return;
    }
    let resourceVersion = newerVersion(written.resourceVersion, object.metadata.resourceVersion);
    const ref = canaryRef(object);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const stored = await this.deps.kube.wire.mergePatchObject<CanaryObject>(
          ref,
          { metadata: { resourceVersion }, status: diff },
          { subresource: 'status', fieldManager: 'sluice' },
        );
        this.deps.metrics.apiWrites.inc({ write: 'status' });
        Object.assign(written, {
          latest: status,
          stored: status,
          heldOn: undefined,
          resourceVersion: stored.metadata.resourceVersion,
        });
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
        // Someone else changed the Canary. If its status is still ours (a spec or metadata
        // change), write again on the new version; otherwise start over from what is stored.
        const fresh = await this.deps.kube.wire.getObject<CanaryObject>(ref);
        // Relabelled to another shard: what this one already did is written, as long as the
        // other has not taken the Canary over (it waits for the release, or its deadline).
        if (this.deps.owns && !this.deps.owns(fresh) && !this.holds(fresh)) {
          this.canaries.delete(key);
          throw new CanaryMovedError(fresh);
        }
        if (deepEqual(withoutNulls(fresh.status?.machine), withoutNulls(before.machine))) {
          resourceVersion = fresh.metadata.resourceVersion;
          log.debug({ attempt }, 'status write conflicted with a spec change; retrying');
          continue;
        }
        Object.assign(written, {
          latest: fresh.status,
          stored: fresh.status,
          heldOn: undefined,
          resourceVersion: fresh.metadata.resourceVersion,
        });
        throw new Error(
          `status of Canary ${object.metadata.namespace}/${object.metadata.name} was changed by someone else; reconciling again`,
          { cause: error },
        );
      }
    }
    throw new Error(
      `status of Canary ${object.metadata.namespace}/${object.metadata.name}: conflicts on every attempt`,
    );
  }

  private holds(object: CanaryObject): boolean {
    return this.deps.holder !== undefined && deepEqual(object.status?.heldBy, this.deps.holder);
  }

  /**
   * Hands a Canary relabelled to another shard over: clears status.heldBy if it still names
   * this shard (the new shard then acts at once). Called after this shard's last reconcile of it.
   */
  async release(key: string, namespace: string, name: string, log: Logger): Promise<void> {
    this.canaries.delete(key);
    if (!this.deps.holder) return;
    const ref = canaryRef({ metadata: { namespace, name } });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      let fresh: CanaryObject;
      try {
        fresh = await this.deps.kube.wire.getObject<CanaryObject>(ref);
      } catch (error) {
        if (isNotFound(error)) return;
        throw error;
      }
      if (!this.holds(fresh)) return;
      try {
        await this.deps.kube.wire.mergePatchObject(
          ref,
          { metadata: { resourceVersion: fresh.metadata.resourceVersion }, status: { heldBy: null } },
          { subresource: 'status', fieldManager: 'sluice' },
        );
        this.deps.metrics.apiWrites.inc({ write: 'status' });
        log.info('handed over to another shard');
        return;
      } catch (error) {
        if (isNotFound(error)) return;
        if (!isConflict(error)) throw error;
      }
    }
  }

  /** Writes every status held back: before a clean stop. */
  async flush(log: Logger): Promise<void> {
    await Promise.all(
      [...this.canaries.entries()].map(async ([key, written]) => {
        const object = written.heldOn;
        if (!object || !written.latest) return;
        const canaryLog = log.child({ canary: `${object.metadata.name}.${object.metadata.namespace}` });
        await this.write(key, object, written.latest, canaryLog).catch((error: unknown) =>
          canaryLog.warn({ err: error }, `held-back status not written: ${apiErrorMessage(error)}`),
        );
      }),
    );
  }
}
