import type { KubernetesObject } from '@kubernetes/client-node';
import { z } from 'zod';
import { parseDuration } from '../../src/api/duration.ts';
import { collectionPath, Informer } from '../../src/controller/informers.ts';
import { addAdmins } from '../../src/dev/cluster.ts';
import type { Progress } from '../../src/dev/progress.ts';
import { silentLogger } from '../../src/log.ts';
import { auditedWrites } from '../audit.ts';
import type { Figures } from '../report.ts';
import { median } from '../stats.ts';
import type { ControllerSupervisor, Replica } from './controller.ts';
import type { ChaosEnv } from './env.ts';
import { Random } from './random.ts';
import { roundsWhile, startScenario } from './rollouts.ts';

// `failover`: two replicas with leader election on a Lease, canaries rolling out all along;
// the leader is SIGKILLed at random moments and restarted as the standby after 0–5 s. Measured:
// the takeover time (kill → the Lease names the other replica) against the lease duration, and
// every write the apiserver's audit log shows from a replica while it did not hold the Lease
// (must be 0). Each replica slot runs under its own client certificate, so the log tells them apart.

export const REPLICA_USERS = { a: 'chaos-replica-a', b: 'chaos-replica-b' } as const;
type Slot = keyof typeof REPLICA_USERS;

export interface FailoverOptions {
  kills: number;
  seed: number;
  canaries: number;
  leaseDuration: string;
  maxRestartDelayS: number;
  interval: string;
  /** The apiserver's audit log (only when the scenario started its own control plane). */
  auditLog?: string;
  timeoutS: number;
}

const LeaseSpec = z.object({
  spec: z.object({ holderIdentity: z.string().optional(), acquireTime: z.string().optional() }).optional(),
});

/** Writes by the replicas' users (Lease writes excepted): how many, and those made outside the intervals the writer held the Lease. */
export async function writesOutsideLeadership(
  auditLog: string,
  leading: Record<Slot, { from: number; to: number }[]>,
): Promise<{ outside: string[]; writes: number }> {
  const found: string[] = [];
  let writes = 0;
  const users = new Map<string, Slot>([
    [REPLICA_USERS.a, 'a'],
    [REPLICA_USERS.b, 'b'],
  ]);
  for (const write of await auditedWrites(auditLog, new Set(users.keys()))) {
    const slot = users.get(write.user);
    if (!slot || write.resource === 'leases') continue;
    writes += 1;
    if (!leading[slot].some((i) => write.at >= i.from - 1000 && write.at <= i.to + 500)) {
      found.push(`${write.user} ${write.verb} ${write.resource} at ${write.timestamp} while not leading`);
    }
  }
  return { outside: found, writes };
}

export async function failoverRun(env: ChaosEnv, options: FailoverOptions, progress: Progress) {
  const random = new Random(options.seed);
  const kubeconfigs = await addAdmins(env.cluster.stateDir, REPLICA_USERS);
  const replicas = new Map<Slot, Replica>();
  let supervisor: ControllerSupervisor | undefined;
  const start = async (slot: Slot) => {
    if (!supervisor) throw new Error('failover: no supervisor yet');
    const replica = await supervisor.start(`replica-${slot}`, ['--kubeconfig', kubeconfigs[slot]], {
      POD_NAME: `replica-${slot}`,
    });
    replicas.set(slot, replica);
  };
  const holders: { at: number; holder: string }[] = [];
  const holderNow = () => holders.at(-1)?.holder ?? '';
  const slotOf = (identity: string): Slot | undefined =>
    identity.startsWith('replica-a-') ? 'a' : identity.startsWith('replica-b-') ? 'b' : undefined;
  const leading: Record<Slot, { from: number; to: number }[]> = { a: [], b: [] };

  // Who holds the Lease, as its watch delivered it (started with the replicas).
  let leaseWatch: Informer<KubernetesObject> | undefined;
  const scenario = await startScenario(env, progress, 'failover', options, async (started, namespace) => {
    supervisor = started;
    leaseWatch = new Informer<KubernetesObject>(
      env.kube,
      collectionPath('coordination.k8s.io', 'v1', 'leases', namespace),
      silentLogger,
      (event, object) => {
        if (event === 'delete') return;
        const holder = LeaseSpec.parse(object).spec?.holderIdentity ?? '';
        if (holders.at(-1)?.holder !== holder) holders.push({ at: Date.now(), holder });
      },
    );
    await leaseWatch.start();
    await start('a');
    await start('b');
  });
  const { fleet } = scenario;
  const control = scenario.supervisor;
  const takeovers: number[] = [];
  const failures: string[] = [];
  const started = Date.now();
  let kills = 0;
  const killer = (async () => {
    while (kills < options.kills && Date.now() - started < options.timeoutS * 1000) {
      await new Promise((r) => setTimeout(r, random.between(2000, 10_000)));
      const holder = holderNow();
      const slot = slotOf(holder);
      const replica = slot && replicas.get(slot);
      if (!slot || !replica || !holder.endsWith(`-${replica.pid}`)) continue;
      const killedAt = Date.now();
      await control.stop(replica, 'SIGKILL');
      leading[slot].push({ from: acquiredAt(holders, holder), to: killedAt });
      kills += 1;
      const restart = (async () => {
        await new Promise((r) => setTimeout(r, random.between(0, options.maxRestartDelayS * 1000)));
        await start(slot);
      })();
      const deadline = killedAt + 120_000;
      while (holderNow() === holder && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const next = holders.at(-1);
      if (next && next.holder !== holder) takeovers.push((next.at - killedAt) / 1000);
      else failures.push(`kill ${kills}: nobody took the Lease over within 120s`);
      await restart;
      progress.info(`kill ${kills}/${options.kills}: takeover ${takeovers.at(-1)?.toFixed(1) ?? '?'}s`);
    }
  })();
  try {
    await roundsWhile(fleet, killer, {
      deadline: started + options.timeoutS * 1000,
      roundTimeoutMs: 600_000,
    });
  } finally {
    const end = Date.now();
    for (const [slot, replica] of replicas) {
      const holder = holderNow();
      if (holder.endsWith(`-${replica.pid}`))
        leading[slot].push({ from: acquiredAt(holders, holder), to: end });
      await control.stop(replica, 'SIGTERM');
    }
    await leaseWatch?.stop();
    await scenario.stop();
  }
  const nonLeaderWrites = options.auditLog
    ? await writesOutsideLeadership(options.auditLog, leading)
    : undefined;
  const checked = scenario.failures();
  const { repeated, repeatedRaw, skipped } = checked;
  failures.push(
    ...checked.failures,
    ...(nonLeaderWrites?.outside ?? []).map((w) => `non-leader write: ${w}`),
  );
  const leaseS = (parseDuration(options.leaseDuration) ?? 15_000) / 1000;
  const figures: Figures = {
    kills,
    lease_duration_s: leaseS,
    takeover_p50_s: takeovers.length ? median(takeovers) : Number.NaN,
    takeover_max_s: takeovers.length ? Math.max(...takeovers) : Number.NaN,
    takeover_max_over_lease: takeovers.length ? Math.max(...takeovers) / leaseS : Number.NaN,
    non_leader_writes: nonLeaderWrites ? nonLeaderWrites.outside.length : Number.NaN,
    leader_writes: nonLeaderWrites ? nonLeaderWrites.writes - nonLeaderWrites.outside.length : Number.NaN,
    rollouts: fleet.results.length,
    wrong_outcomes: fleet.wrongOutcomes.length,
    violations: fleet.checker.count(),
    repeated_side_effects: repeated.length,
    repeated_calls_raw: repeatedRaw.length,
    skipped_steps: skipped.length,
    unclean_exits: control.uncleanExits.length,
    duration_s: (Date.now() - started) / 1000,
  };
  return { figures, failures, details: { takeovers, leading } };
}

/** When `holder` became the holder (the first watch event naming it). */
function acquiredAt(holders: readonly { at: number; holder: string }[], holder: string): number {
  return holders.find((h) => h.holder === holder)?.at ?? 0;
}
