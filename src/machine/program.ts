import { formatDuration } from '../api/duration.ts';
import { PRIMARY_ONLY, type Routes } from '../api/routes.ts';
import { hasHook, type Plan, type ProgramStep } from './plan.ts';
import { routesPending, say, sayStep, setRoutes } from './queue.ts';
import { pausedMessage, requestGate } from './round.ts';
import type { Context } from './types.ts';

// The step program: the plan's steps (weights, mirror, match, switch, pauses, analyses,
// the promotion gate) walked from `context.cursor`, the same walk for every strategy.

function stepRoutes(step: ProgramStep, current: Routes): Routes | null {
  switch (step.kind) {
    case 'setWeight':
      return { primaryWeight: 100 - step.weight, canaryWeight: step.weight, mirror: false, match: false };
    case 'mirror':
      return { ...PRIMARY_ONLY, mirror: true };
    case 'match':
      // With match on, the weights apply to matching requests only; the rest stay on the primary.
      return { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true };
    case 'switch':
      return { primaryWeight: 0, canaryWeight: 100, mirror: false, match: false };
    default:
      return current;
  }
}

function routesMessage(step: ProgramStep, routes: Routes): string {
  switch (step.kind) {
    case 'mirror':
      return 'mirroring traffic to the canary';
    case 'match':
      return 'routing matching requests to the canary';
    case 'switch':
      return 'routing all traffic to the canary';
    default:
      return `advance canary weight ${routes.canaryWeight}`;
  }
}

function raisesTraffic(next: Routes, current: Routes): boolean {
  return next.canaryWeight > current.canaryWeight || (next.mirror && !current.mirror);
}

/**
 * Walks the program after a passing round (`round`) or an approved gate (`gateApproved`):
 * applies route steps, consumes the pass at an analysis step, and stops at the first step
 * that has to wait. Leaves the cursor at a confirm-promotion gate or past the end; the
 * machine's guards take it from there.
 */
export function advance(
  d: Context,
  plan: Plan,
  now: number,
  credit: { round: boolean; gateApproved: boolean },
): void {
  const round = d.round;
  d.round = null;
  if (credit.round) d.inconclusiveRounds = 0;
  if (d.paused) {
    d.message = pausedMessage(d);
    return;
  }
  if (credit.gateApproved) d.gateWaiting = null;
  let passed = credit.round;
  let approved = credit.gateApproved;
  for (;;) {
    const step = plan.steps[d.cursor];
    if (!step) return;
    switch (step.kind) {
      case 'preRollout':
      case 'analysis':
        if (!passed) return;
        passed = false;
        if (step.kind === 'analysis' && plan.strategy !== 'canary') {
          // The check after blue/green's final switch is not another iteration.
          if (d.iterations < plan.iterations) {
            d.iterations += 1;
            sayStep(d, 'Advance', `advance canary iteration ${d.iterations}/${plan.iterations}`);
          } else {
            sayStep(d, 'Advance', 'final check passed with all traffic on the canary');
          }
        }
        d.cursor += 1;
        continue;
      case 'pause':
        if (step.durationMs === null) {
          if (!d.pauseReleased) {
            if (d.gateWaiting !== 'pause') {
              d.gateWaiting = 'pause';
              say(
                d,
                'Normal',
                'Paused',
                'paused until promoted (sluice promote) or resumed (sluice resume)',
                'info',
              );
            }
            return;
          }
          d.pauseReleased = false;
          d.gateWaiting = null;
        } else {
          if (d.pauseUntil === null) {
            d.pauseUntil = now + step.durationMs;
            sayStep(d, 'Paused', `pausing for ${formatDuration(step.durationMs)}`);
            return;
          }
          if (now < d.pauseUntil) return;
          d.pauseUntil = null;
        }
        d.cursor += 1;
        continue;
      case 'setWeight':
      case 'mirror':
      case 'match':
      case 'switch': {
        // The routes set before are not confirmed yet: the next ones wait (status shows applied weights).
        if (routesPending(d)) return;
        const next = stepRoutes(step, d.routes) ?? d.routes;
        const gated = (step.kind === 'setWeight' || step.kind === 'mirror') && raisesTraffic(next, d.routes);
        if (gated && hasHook(plan, 'confirm-traffic-increase') && !approved) {
          if (round) d.round = { ...round, awaiting: [], failures: [], inconclusive: [], gate: null };
          requestGate(d, plan, now, 'confirm-traffic-increase');
          return;
        }
        approved = false;
        // A pass earned at the old routes says nothing about the new ones.
        passed = false;
        setRoutes(d, next);
        sayStep(d, 'Advance', routesMessage(step, next));
        d.cursor += 1;
        continue;
      }
      case 'confirmPromotion':
        if (hasHook(plan, 'confirm-promotion') && !approved) return;
        approved = false;
        d.cursor += 1;
        continue;
    }
  }
}
