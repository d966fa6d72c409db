import { SHARD_LABEL } from '../../src/controller/shard.ts';
import { addAdmins } from '../../src/dev/cluster.ts';
import type { Progress } from '../../src/dev/progress.ts';
import { auditedWrites } from '../audit.ts';
import type { Figures } from '../report.ts';
import type { Replica } from './controller.ts';
import type { ChaosEnv } from './env.ts';
import { Random } from './random.ts';
import { roundsWhile, startScenario } from './rollouts.ts';

// `handover`: two shards side by side — `--shard a` and the replica without --shard, each
// leading on its own Lease — while Canaries are relabelled between them at random moments,
// most of them mid-rollout. A relabel is a delete on the old shard's watch (it forgets the
// Canary, never finalizes it) and an add on the new one's (it goes on from the status). The
// fleet's checks say whether a step was repeated or skipped and whether each rollout ended as
// its metrics call for; on a control plane of its own the apiserver's audit log shows every
// write of each shard, and the two never take turns on one Canary except at a relabel.

export const SHARD_USERS = { a: 'chaos-shard-a', unsharded: 'chaos-shard-unsharded' } as const;
type Owner = keyof typeof SHARD_USERS;
const MID_ROLLOUT = new Set(['Progressing', 'WaitingPromotion', 'Promoting', 'Finalising']);

export interface HandoverOptions {
  relabels: number;
  seed: number;
  canaries: number;
  leaseDuration: string;
  interval: string;
  /** The apiserver's audit log (only when the scenario started its own control plane). */
  auditLog?: string;
  timeoutS: number;
}

/** Who held each Canary from when: the relabels as the apiserver answered them. */
type Ownership = Map<string, { from: number; owner: Owner }[]>;

function ownerAt(ownership: Ownership, canary: string, at: number): Owner | undefined {
  let owner: Owner | undefined;
  for (const change of ownership.get(canary) ?? []) if (change.from <= at) owner = change.owner;
  return owner;
}

/**
 * Writes by each shard's user (Lease writes excepted), from the audit log, checked per Canary
 * in time order: the shard writing for a Canary changes only to the shard it was relabelled
 * to (a takeover), and once the new shard has written, the old one writes no more. Writes by
 * the old shard after the relabel and before the new one's first write are the handover (its
 * watch has not delivered the relabel yet, the status of what it did, the release): counted,
 * allowed.
 */
export async function overlappingWrites(
  auditLog: string,
  namespace: string,
  ownership: Ownership,
): Promise<{ overlapping: string[]; writes: number; handoverWrites: number }> {
  const users = new Map<string, Owner>([
    [SHARD_USERS.a, 'a'],
    [SHARD_USERS.unsharded, 'unsharded'],
  ]);
  const canaries = [...ownership.keys()];
  const byCanary = new Map<string, { at: number; writer: Owner; what: string }[]>();
  let writes = 0;
  for (const write of await auditedWrites(auditLog, new Set(users.keys()))) {
    const writer = users.get(write.user);
    if (!writer || write.namespace !== namespace || write.resource === 'leases') continue;
    writes += 1;
    // The Canary the object belongs to: itself, `<name>-primary`, `<name>-canary`, its configs, its Events (`<name>.<id>`).
    const canary = canaries.find(
      (c) => write.name === c || write.name.startsWith(`${c}-`) || write.name.startsWith(`${c}.`),
    );
    if (!canary) continue;
    const list = byCanary.get(canary) ?? [];
    list.push({
      at: write.at,
      writer,
      what: `${write.user} ${write.verb} ${write.resource} ${write.name} at ${write.timestamp}`,
    });
    byCanary.set(canary, list);
  }
  const overlapping: string[] = [];
  let handoverWrites = 0;
  for (const [canary, list] of byCanary) {
    list.sort((x, y) => x.at - y.at);
    let acting: Owner = 'unsharded';
    for (const write of list) {
      const owner = ownerAt(ownership, canary, write.at);
      if (write.writer === acting) {
        if (owner !== acting) handoverWrites += 1;
      } else if (owner === write.writer) {
        acting = write.writer;
      } else {
        overlapping.push(`${write.what}, after the other shard had taken ${canary} over`);
      }
    }
  }
  return { overlapping, writes, handoverWrites };
}

/** What a replica's /metrics and /readyz say about its shard and Lease. */
async function shardProblems(replica: Replica, owner: Owner, leaseNamespace: string): Promise<string[]> {
  const problems: string[] = [];
  const metrics = await fetch(`http://127.0.0.1:${replica.port}/metrics`).then((r) => r.text());
  const labelled = /^sluice_canary_status\{[^}]*shard="a"/m.test(metrics);
  if (owner === 'a' && !labelled)
    problems.push(`${replica.name}: /metrics has no sluice_canary_status{shard="a"}`);
  if (owner === 'unsharded' && /shard="/.test(metrics))
    problems.push(`${replica.name}: the unsharded replica's /metrics carry a shard label`);
  const lease = owner === 'a' ? 'sluice-controller-a' : 'sluice-controller';
  const readyz = await replica.readyz();
  if (!readyz?.text.includes(`Lease ${leaseNamespace}/${lease}`))
    problems.push(
      `${replica.name}: /readyz does not name the Lease ${lease}: ${readyz?.text.trim() ?? 'no answer'}`,
    );
  return problems;
}

export async function handoverRun(env: ChaosEnv, options: HandoverOptions, progress: Progress) {
  const random = new Random(options.seed);
  const kubeconfigs = await addAdmins(env.cluster.stateDir, SHARD_USERS);
  const replicas = new Map<Owner, Replica>();
  const scenario = await startScenario(env, progress, 'handover', options, async (supervisor) => {
    replicas.set(
      'a',
      await supervisor.start('shard-a', ['--kubeconfig', kubeconfigs.a, '--shard', 'a'], {
        POD_NAME: 'shard-a',
      }),
    );
    replicas.set(
      'unsharded',
      await supervisor.start('unsharded', ['--kubeconfig', kubeconfigs.unsharded], {
        POD_NAME: 'unsharded',
      }),
    );
  });
  const { fleet, namespace } = scenario;
  // Every Canary starts without the label: the unsharded replica's.
  const ownership: Ownership = new Map(
    fleet.workloads.map((w) => [w.name, [{ from: 0, owner: 'unsharded' }]]),
  );
  const failures: string[] = [];
  const started = Date.now();
  let relabels = 0;
  let midRollout = 0;
  let stopped = false;
  const relabeler = (async () => {
    while (!stopped && relabels < options.relabels && Date.now() - started < options.timeoutS * 1000) {
      await new Promise((r) => setTimeout(r, random.between(1000, 4000)));
      const { name } = random.pick(fleet.workloads);
      const changes = ownership.get(name)!;
      const to: Owner = changes.at(-1)!.owner === 'a' ? 'unsharded' : 'a';
      const phase = fleet.checker.canaries.get(name)?.phase ?? '';
      await env.kube.wire.mergePatchObject(
        { apiVersion: 'sluice.dev/v1alpha1', kind: 'Canary', metadata: { name, namespace } },
        { metadata: { labels: { [SHARD_LABEL]: to === 'a' ? 'a' : null } } },
        { fieldManager: 'kubectl' },
      );
      changes.push({ from: Date.now(), owner: to });
      relabels += 1;
      if (MID_ROLLOUT.has(phase)) midRollout += 1;
      progress.info(`relabel ${relabels}/${options.relabels}: ${name} (${phase || '?'}) → ${to}`);
    }
  })();
  let rounds: number;
  try {
    rounds = await roundsWhile(fleet, relabeler, {
      deadline: started + options.timeoutS * 1000,
      roundTimeoutMs: 600_000,
    });
    for (const [owner, replica] of replicas)
      failures.push(...(await shardProblems(replica, owner, namespace)));
  } finally {
    stopped = true;
    await relabeler.catch((error: unknown) => failures.push(`relabelling failed: ${String(error)}`));
    for (const replica of replicas.values()) await scenario.supervisor.stop(replica, 'SIGTERM');
    await scenario.stop();
  }
  const audited = options.auditLog
    ? await overlappingWrites(options.auditLog, namespace, ownership)
    : undefined;
  const checked = scenario.failures();
  // A webhook in flight when its Canary is relabelled answers to the old shard, which no longer
  // holds it; the new shard calls it again. Webhooks are at least once across a handover, as
  // across a crash (reliability.md); steps, Events and notifications are exactly once.
  const isHook = (line: string) => / hook of /.test(line);
  const repeatedHooks = checked.repeated.filter(isHook);
  failures.push(
    ...checked.failures.filter((f) => !(f.startsWith('repeated: ') && isHook(f))),
    ...(audited?.overlapping ?? []).map((w) => `two shards acting: ${w}`),
  );
  const figures: Figures = {
    relabels,
    relabels_mid_rollout: midRollout,
    rounds,
    rollouts: fleet.results.length,
    wrong_outcomes: fleet.wrongOutcomes.length,
    violations: fleet.checker.count(),
    repeated_side_effects: checked.repeated.length - repeatedHooks.length,
    repeated_hooks: repeatedHooks.length,
    skipped_steps: checked.skipped.length,
    overlapping_writes: audited ? audited.overlapping.length : Number.NaN,
    handover_writes: audited ? audited.handoverWrites : Number.NaN,
    shard_writes: audited ? audited.writes : Number.NaN,
    unclean_exits: scenario.supervisor.uncleanExits.length,
    duration_s: (Date.now() - started) / 1000,
  };
  return { figures, failures, details: { ownership: Object.fromEntries(ownership) } };
}
