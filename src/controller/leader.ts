import { HttpMethod } from '../kube/library.ts';
import type { Logger } from '../log.ts';
import { apiErrorMessage, isConflict, isNotFound, statusCode, type Kube } from '../kube/client.ts';
import { StartupError } from '../startup.ts';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the leader
 * renews the lease every retry period; a candidate takes over when the record has not
 * changed for a whole lease duration (measured on its own clock, so clock skew between
 * nodes does not matter); a leader that cannot renew within the renew deadline stops
 * leading. On shutdown the leader releases the lease so a successor starts at once.
 */
export interface LeaderElectionOptions {
  kube: Pick<Kube, 'wire'>;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /**
   * The Lease cannot be taken for a reason that will not go away by itself (its namespace
   * is missing, RBAC refuses it), found after start() has returned. Campaigning has stopped.
   */
  onFatal?: (error: LeaseUnavailableError) => void;
  now?: () => number;
}

/** Where leader election stands, in words: what /readyz says while this replica does not lead. */
export interface LeaderStatus {
  leading: boolean;
  /** The last lease request succeeded (leading, or another holder is alive). */
  healthy: boolean;
  message: string;
}

/**
 * The Lease cannot be taken for a reason that will not go away by itself. The message names
 * the Lease, what is wrong and the ways out (the flags, or what to create or grant).
 */
export class LeaseUnavailableError extends StartupError {
  readonly namespace: string;
  constructor(namespace: string, message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'LeaseUnavailableError';
    this.namespace = namespace;
  }
}

/** A lease request's error as LeaseUnavailableError when it will not go away by retrying. */
export function permanentLeaseError(
  error: unknown,
  lease: { namespace: string; name: string },
  request: 'create' | 'read' | 'update',
): LeaseUnavailableError | undefined {
  const { namespace, name } = lease;
  const ways = `choose another namespace with --leader-election-namespace, or run a single replica with --no-leader-elect`;
  if (request === 'create' && isNotFound(error)) {
    return new LeaseUnavailableError(
      namespace,
      `leader election: the namespace ${namespace} of the Lease ${namespace}/${name} does not exist; ` +
        `create it (kubectl create namespace ${namespace}), ${ways}`,
      error,
    );
  }
  if (statusCode(error) === 403) {
    return new LeaseUnavailableError(
      namespace,
      `leader election: not allowed to ${request} the Lease ${namespace}/${name} (${apiErrorMessage(error)}); ` +
        `grant get, create and update on leases in ${namespace} (the Role in deploy/ does), ${ways}`,
      error,
    );
  }
  return undefined;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** MicroTime wants exactly six fractional digits. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private readonly options: Required<Omit<LeaderElectionOptions, 'now' | 'onFatal'>> &
    Pick<LeaderElectionOptions, 'onFatal'> & { now: () => number };
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;
  private started = false;
  private status: LeaderStatus = { leading: false, healthy: false, message: 'campaigning for the lease' };

  constructor(options: LeaderElectionOptions) {
    this.options = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      now: Date.now,
      ...options,
    };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Where this replica stands, for /readyz. */
  get state(): LeaderStatus {
    return this.status;
  }

  private get leaseName(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }

  /**
   * Starts campaigning. Resolves after the first attempt (leading or not); rejects with
   * LeaseUnavailableError when the Lease cannot be taken for a reason that will not go away.
   */
  async start(): Promise<void> {
    await this.loop();
    this.started = true;
  }

  /** Stop campaigning; a leader releases the lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading) {
      this.leading = false;
      await this.release().catch((error: unknown) =>
        this.options.log.warn({ err: error }, 'could not release the lease'),
      );
    }
  }

  private path(): string {
    const { namespace, name } = this.options;
    return `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`;
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    const { log, now, retryPeriodMs, renewDeadlineMs } = this.options;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (error) {
      if (error instanceof LeaseUnavailableError) {
        this.stopped = true;
        this.status = { leading: false, healthy: false, message: error.message };
        if (!this.started) throw error;
        log.error({ err: error }, error.message);
        this.options.onFatal?.(error);
        return;
      }
      const message = `${this.leading ? 'leading, but' : 'not leading:'} a request for the Lease ${this.leaseName} failed (${apiErrorMessage(error)}); retrying every ${retryPeriodMs / 1000}s`;
      this.status = { leading: this.leading, healthy: false, message };
      log.warn({ err: error }, 'leader election: lease request failed');
    }
    if (this.stopped) return;
    if (ok) {
      this.status = { leading: true, healthy: true, message: `leading (Lease ${this.leaseName})` };
      this.lastRenew = now();
      if (!this.leading) {
        this.leading = true;
        log.info({ lease: this.options.name, identity: this.options.identity }, 'became the leader');
        this.options.onStartedLeading();
      }
    } else if (this.leading && now() - this.lastRenew > renewDeadlineMs) {
      this.leading = false;
      this.status = {
        leading: false,
        healthy: false,
        message: `lost the Lease ${this.leaseName}: could not renew it in time`,
      };
      log.error({ lease: this.options.name }, 'lost the leader lease: could not renew it in time');
      this.options.onStoppedLeading();
      return;
    }
    this.timer = setTimeout(() => void this.loop(), retryPeriodMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.options;
    try {
      return await this.acquireOrRenew();
    } catch (error) {
      const request = (error as { leaseRequest?: 'create' | 'read' | 'update' }).leaseRequest ?? 'read';
      throw permanentLeaseError(error, { namespace, name }, request) ?? error;
    }
  }

  private async acquireOrRenew(): Promise<boolean> {
    const { kube, namespace, name, identity, leaseDurationMs, now } = this.options;
    const at = now();
    const tagged = (request: 'create' | 'read' | 'update', error: unknown) =>
      Object.assign(error instanceof Error ? error : new Error(String(error)), { leaseRequest: request });
    let lease: Lease;
    try {
      lease = await kube.wire.request<Lease>(HttpMethod.GET, this.path());
    } catch (error) {
      if (!isNotFound(error)) throw tagged('read', error);
      const created: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
          acquireTime: microTime(at),
          renewTime: microTime(at),
          leaseTransitions: 0,
        },
      };
      try {
        await kube.wire.request(
          HttpMethod.POST,
          `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
          {
            body: created,
          },
        );
        return true;
      } catch (createError) {
        if (isConflict(createError)) return false;
        throw tagged('create', createError);
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify(spec);
    if (this.observed?.record !== record) this.observed = { record, at };
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? Math.ceil(leaseDurationMs / 1000)) * 1000;
    const expired = at - (this.observed?.at ?? at) >= duration;
    if (holder !== '' && holder !== identity && !expired) {
      this.status = {
        leading: false,
        healthy: true,
        message: `standby: the Lease ${this.leaseName} is held by ${holder}`,
      };
      return false;
    }

    const next: Lease = {
      ...lease,
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
        acquireTime: holder === identity ? spec.acquireTime : microTime(at),
        renewTime: microTime(at),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
      },
    };
    try {
      // A replace carries the resourceVersion: if another candidate wrote first, we get 409.
      const written = await kube.wire.request<Lease>(HttpMethod.PUT, this.path(), { body: next });
      this.observed = { record: JSON.stringify(written.spec ?? {}), at };
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw tagged('update', error);
    }
  }

  private async release(): Promise<void> {
    const { kube, identity } = this.options;
    const lease = await kube.wire.request<Lease>(HttpMethod.GET, this.path());
    if (lease.spec?.holderIdentity !== identity) return;
    await kube.wire.request(HttpMethod.PUT, this.path(), {
      body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
    });
  }
}
