import { HttpMethod } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { isConflict, isNotFound, type Kube } from '../kube/client.ts';

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
  now?: () => number;
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
  private readonly options: Required<Omit<LeaderElectionOptions, 'now'>> & { now: () => number };
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;

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

  start(): void {
    void this.loop();
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
      log.warn({ err: error }, 'leader election: lease request failed');
    }
    if (this.stopped) return;
    if (ok) {
      this.lastRenew = now();
      if (!this.leading) {
        this.leading = true;
        log.info({ lease: this.options.name, identity: this.options.identity }, 'became the leader');
        this.options.onStartedLeading();
      }
    } else if (this.leading && now() - this.lastRenew > renewDeadlineMs) {
      this.leading = false;
      log.error({ lease: this.options.name }, 'lost the leader lease: could not renew it in time');
      this.options.onStoppedLeading();
      return;
    }
    this.timer = setTimeout(() => void this.loop(), retryPeriodMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { kube, namespace, name, identity, leaseDurationMs, now } = this.options;
    const at = now();
    let lease: Lease;
    try {
      lease = await kube.wire.request<Lease>(HttpMethod.GET, this.path());
    } catch (error) {
      if (!isNotFound(error)) throw error;
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
        throw createError;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify(spec);
    if (this.observed?.record !== record) this.observed = { record, at };
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? Math.ceil(leaseDurationMs / 1000)) * 1000;
    const expired = at - (this.observed?.at ?? at) >= duration;
    if (holder !== '' && holder !== identity && !expired) return false;

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
      throw error;
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
