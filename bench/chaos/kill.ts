import type { ControllerSupervisor, Replica } from './controller.ts';
import type { ChaosEnv } from './env.ts';
import type { Change } from './invariants.ts';
import { Random } from './random.ts';
import { roundsWhile, startScenario } from './rollouts.ts';
import type { Progress } from '../../src/dev/progress.ts';
import type { Figures } from '../report.ts';

// `kill`: SIGKILL the controller at random moments, and at chosen ones (right after a routing
// write, before its status write lands; on entering Promoting, Finalising; during a rollback),
// across concurrent rollouts of healthy, bad, gated and A/B releases; restart it after a
// random 0–maxRestartDelay seconds. Rounds of releases go on until `kills` kills have
// happened and the round under way has finished.

export interface KillOptions {
  kills: number;
  seed: number;
  canaries: number;
  /** Longest wait before the restart (s); the issue says 5. */
  maxRestartDelayS: number;
  interval: string;
  /** Bounds: one round, and the whole run. */
  roundTimeoutS: number;
  timeoutS: number;
}

export type KillMoment = 'random' | 'route-write' | 'promoting' | 'finalising' | 'rollback';
const MOMENTS: readonly KillMoment[] = ['random', 'route-write', 'promoting', 'finalising', 'rollback'];

export interface KillRun {
  figures: Figures;
  failures: string[];
  moments: Record<KillMoment, number>;
}

/** Resolves when the chosen moment comes (or after `timeoutMs`, then as a random kill). */
function moment(
  subscribe: (listener: (change: Change) => void) => () => void,
  which: KillMoment,
  timeoutMs: number,
): Promise<KillMoment> {
  return new Promise((resolve) => {
    let unsubscribe: () => void = () => undefined;
    const timer = setTimeout(() => {
      unsubscribe();
      resolve('random');
    }, timeoutMs);
    if (which === 'random') return;
    unsubscribe = subscribe((change) => {
      const hit =
        (which === 'route-write' && change.kind === 'route') ||
        (which === 'promoting' && change.kind === 'phase' && change.phase === 'Promoting') ||
        // Finalising seldom shows in status (it ends within the reconcile that enters it): its
        // route write, all traffic back to the primary after a promotion, is the moment.
        (which === 'finalising' &&
          ((change.kind === 'phase' && change.phase === 'Finalising') ||
            (change.kind === 'route' &&
              change.canary === 0 &&
              change.previous > 0 &&
              !change.name.startsWith('bad-')))) ||
        (which === 'rollback' &&
          change.kind === 'route' &&
          change.canary === 0 &&
          change.previous > 0 &&
          change.name.startsWith('bad-'));
      if (!hit) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(which);
    });
  });
}

/** Starts the controller again; a start that fails (its exit already counts as unclean) is retried. */
async function restart(supervisor: ControllerSupervisor): Promise<Replica> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await supervisor.start('kill');
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export async function killRun(env: ChaosEnv, options: KillOptions, progress: Progress): Promise<KillRun> {
  const random = new Random(options.seed);
  let replica: Replica | undefined;
  const scenario = await startScenario(env, progress, 'kill', options, async (supervisor) => {
    replica = await supervisor.start('kill');
  });
  const { supervisor, fleet } = scenario;
  const started = Date.now();
  const moments = Object.fromEntries(MOMENTS.map((m) => [m, 0])) as Record<KillMoment, number>;
  let kills = 0;
  let downMs = 0;
  const killer = (async () => {
    while (kills < options.kills && Date.now() - started < options.timeoutS * 1000) {
      const wanted = random.pick(MOMENTS);
      // A random kill lands anywhere in the next 0–8 s; a chosen one waits up to 20 s for its moment.
      const at = await moment(
        (listener) => fleet.checker.subscribe(listener),
        wanted,
        wanted === 'random' ? random.between(0, 8000) : 20_000,
      );
      if (!replica) break;
      const killedAt = Date.now();
      await supervisor.stop(replica, 'SIGKILL');
      kills += 1;
      moments[at] += 1;
      const delay = random.between(0, options.maxRestartDelayS * 1000);
      await new Promise((r) => setTimeout(r, delay));
      replica = await restart(supervisor);
      downMs += Date.now() - killedAt;
      if (kills % 5 === 0) progress.info(`${kills}/${options.kills} kills`);
    }
  })();
  let rounds: number;
  try {
    rounds = await roundsWhile(fleet, killer, {
      deadline: started + options.timeoutS * 1000,
      roundTimeoutMs: options.roundTimeoutS * 1000,
      afterRound: (round, results) =>
        progress.info(
          `round ${round}: ${results.length} rollouts finished, ${kills} kills so far, ${fleet.checker.count()} violations`,
        ),
    });
  } finally {
    if (replica) await supervisor.stop(replica, 'SIGTERM');
    await scenario.stop();
  }
  const { failures, repeated, repeatedRaw, skipped } = scenario.failures();
  for (const r of repeatedRaw) if (!repeated.includes(r)) progress.info(`repeated under the same key: ${r}`);
  const figures: Figures = {
    kills,
    ...Object.fromEntries(MOMENTS.map((m) => [`kills_${m.replace('-', '_')}`, moments[m]])),
    rollouts: fleet.results.length,
    canaries: options.canaries,
    rounds,
    wrong_outcomes: fleet.wrongOutcomes.length,
    violations: fleet.checker.count(),
    repeated_side_effects: repeated.length,
    repeated_calls_raw: repeatedRaw.length,
    skipped_steps: skipped.length,
    // Pending chat messages the restarted controllers looked up in Slack before posting.
    slack_lookups: fleet.receiver.slackApi.lookups,
    unclean_exits: supervisor.uncleanExits.length,
    controller_down_s_avg: kills ? downMs / kills / 1000 : 0,
    duration_s: (Date.now() - started) / 1000,
  };
  return { figures, failures, moments };
}
