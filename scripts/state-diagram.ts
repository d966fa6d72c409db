import type { AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { canaryMachine } from '../src/machine/machine.ts';

// Reads the machine definition (states, transitions, guards, actions) so that the
// documentation and the coverage test both come from the one source of truth.

export interface StateInfo {
  /** Dotted path below the root, e.g. "active.idle.failed". */
  path: string;
  key: string;
  type: string;
  /** The Canary phase the state sets on entry, if any. */
  phase: string | undefined;
  initial: string | undefined;
  children: string[];
}

export interface TransitionInfo {
  /** "<state path>|<event or always>|<index>", stable while the definition does not change. */
  key: string;
  source: string;
  event: string;
  guard: string | undefined;
  /** Target state paths; empty for a transition that stays (actions only). */
  targets: string[];
  actions: string[];
  reenter: boolean;
}

/** What each guard means, for the generated documentation. */
export const GUARD_DESCRIPTIONS: Record<string, string> = {
  tickEarly: 'the TICK came before `nextTickAt` (a reconcile, not the interval)',
  canaryNotReady: 'the canary was not reported ready since it was scaled up',
  primaryNotReady: 'the promote has not been carried out, or the primary is not ready since',
  primaryNotReadyForTraffic: 'the primary (the one fallback) was last reported not ready: no round, no step',
  passedWhilePrimaryNotReady:
    'a round passed or a gate opened while the primary is not ready: the round is dropped, the step waits',
  primaryWaitExceeded:
    "the primary's not-ready time since the rollout started reached progressDeadlineSeconds",
  canaryDeadlineReached:
    'the canary reported deadline exceeded, or its not-ready time (summed) reached progressDeadlineSeconds',
  primaryDeadlineReached: 'the same for the primary after the promote was carried out',
  skipAnalysisReady: 'spec.skipAnalysis is set and the canary is ready',
  primaryInitialized: 'the primary was created from the first revision and is ready',
  roundOpen: 'the checks of the current interval still wait for answers',
  answersRound: 'the result answers a request of the current interval',
  rollbackHookFired:
    'a rollback webhook answered 2xx, or the analysis found a decisive regression (a critical judged metric)',
  lookDueBetweenRounds:
    'a look is due (`nextLookAt`, every analysis.checkEvery) and none is in flight, between two rounds or while one waits at a gate',
  lookFoundRegression:
    'the look in flight found a decisive regression: a critical judged metric, or a failFast metric out of range',
  checksFailed: 'every check answered and at least one failed (no data counts as failed)',
  checksInconclusive:
    'every check answered, none failed, and an analysis was inconclusive (success and failure conditions both false)',
  failedChecksAtThreshold: 'the failed checks reach analysis.threshold with this one',
  checksPassed: 'every check of the interval answered and passed',
  gateApproved: 'the confirm gate answered 2xx (and no pause command holds the canary)',
  gateApprovedWithStepsLeft: 'the gate answered 2xx and steps follow it (blue/green: the final switch)',
  gateClosed: 'the confirm gate said no, or a pause command holds the canary',
  atPromotionGate:
    'the program reached confirm-promotion, such webhooks exist and the router confirmed the last route write',
  programCompleteAndApplied:
    'every step of the program is done and the router confirmed the last route write',
  routesPending: 'a route write is not confirmed by the router yet (the next step waits for it)',
  stepsChanged: 'the spec changed the program (weights, steps, iterations, strategy) mid-analysis',
  promotionStepsLeft: 'stepWeightPromotion is set and the canary still has more than one step of traffic',
  canaryRetired: 'the final routes and the scale-down were carried out',
  restoring: 'a rollback was decided and the primary does not serve all traffic again yet',
  primaryRestored: "the rollback's route write is done and the primary is ready (time to restore ends)",
  revisionChanged: 'the target revision differs from the one recorded',
  newRevision: 'the revision is neither the one analysed nor the one the primary runs',
  newRevisionNeedsConfirmation: 'a new revision, and confirm-rollout webhooks exist',
  revertedToPrimary: 'the target went back to the revision the primary runs (a revert in Git)',
  newRevisionBeforePromotion: 'a new revision arrived before the promote was carried out',
  revertedBeforePromotion: 'a revert arrived before the promote was carried out',
  command: 'a person sent this command',
  retryNeedsConfirmation: 'retry, and confirm-rollout webhooks exist',
  retry: 'a person sent retry',
  suspendRequested: 'spec.suspend is true',
  resumeRequested: 'spec.suspend is false',
};

function relativePath(node: AnyStateNode): string {
  return node.path.join('.');
}

/** A guard or action named in setup(), with its params: `name(a, b)`; an inline function cannot be documented. */
function describeNamed(what: 'guard' | 'action', named: unknown): string {
  if (typeof named === 'string') return named;
  if (named && typeof named === 'object' && 'type' in named) {
    const { type, params } = named as { type: string; params?: Record<string, unknown> };
    const args = params ? Object.values(params).map(String).join(', ') : '';
    return args ? `${type}(${args})` : type;
  }
  throw new Error(`diagram: inline ${what} functions cannot be documented; name the ${what} in setup()`);
}

function walk(node: AnyStateNode, visit: (node: AnyStateNode) => void): void {
  visit(node);
  for (const child of Object.values(node.states)) walk(child, visit);
}

function phaseOf(node: AnyStateNode): string | undefined {
  for (const action of node.entry) {
    if (action && typeof action === 'object' && 'type' in action && action.type === 'enterPhase') {
      const params = (action as { params?: { phase?: string } }).params;
      return params?.phase;
    }
  }
  return undefined;
}

/** Every state below the root, in definition order. */
export function machineStates(): StateInfo[] {
  const states: StateInfo[] = [];
  walk(canaryMachine.root, (node) => {
    if (node === canaryMachine.root) return;
    states.push({
      path: relativePath(node),
      key: node.key,
      type: node.type,
      phase: phaseOf(node),
      initial: node.initial?.target[0]?.key,
      children: Object.keys(node.states),
    });
  });
  return states;
}

export function transitionKey(transition: AnyTransitionDefinition): string {
  const source = transition.source;
  const always = transition.eventType === '';
  const list = always ? (source.always ?? []) : (source.transitions.get(transition.eventType) ?? []);
  return `${relativePath(source)}|${always ? 'always' : transition.eventType}|${list.indexOf(transition)}`;
}

/** Every transition of the machine (event transitions in `on`, then `always`), in definition order. */
export function machineTransitions(): TransitionInfo[] {
  const transitions: TransitionInfo[] = [];
  walk(canaryMachine.root, (node) => {
    const all = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    for (const transition of all) {
      transitions.push({
        key: transitionKey(transition),
        source: relativePath(node),
        event: transition.eventType === '' ? 'always' : transition.eventType,
        guard: transition.guard === undefined ? undefined : describeNamed('guard', transition.guard),
        targets: (transition.target ?? []).map(relativePath),
        actions: transition.actions.map((action) => describeNamed('action', action)),
        // Re-entering matters only for a target inside the source (itself or a child).
        reenter:
          transition.reenter &&
          (transition.target ?? []).some((t) => relativePath(t).startsWith(relativePath(node))),
      });
    }
  });
  return transitions;
}

function mermaidId(path: string): string {
  return path.split('.').at(-1)!;
}

function label(transition: TransitionInfo): string {
  return transition.guard ? `${transition.event} [${transition.guard}]` : transition.event;
}

/** Compound states with more leaves than this are drawn as one "any state of …" node. */
const EXPAND_LIMIT = 3;

/**
 * The machine as a flat Mermaid stateDiagram-v2 (Mermaid cannot draw edges into another
 * composite's children): a transition of a compound state is drawn from each of its
 * leaves, or from an "any state of …" node when it has many.
 */
export function renderMermaid(): string {
  const states = machineStates();
  const byPath = new Map(states.map((state) => [state.path, state]));
  const leaves = (path: string): string[] => {
    const state = byPath.get(path)!;
    if (state.children.length === 0) return [path];
    return state.children
      .flatMap((child) => leaves(`${path}.${child}`))
      .filter((p) => byPath.get(p)!.type !== 'history');
  };
  const ids = new Set<string>();
  const lines = ['stateDiagram-v2'];
  for (const state of states) {
    const id = mermaidId(state.path);
    if (ids.has(id)) throw new Error(`diagram: two states are named "${id}"; state keys must be unique`);
    ids.add(id);
    if (state.type === 'history') lines.push(`  state "H* (back to the state it left)" as ${id}`);
    else if (state.children.length === 0)
      lines.push(`  state "${state.phase ? `${id} (${state.phase})` : id}" as ${id}`);
  }
  const start = (path: string): string => {
    const state = byPath.get(path)!;
    return state.children.length === 0 || !state.initial ? path : start(`${path}.${state.initial}`);
  };
  lines.push(`  [*] --> ${mermaidId(start(canaryMachine.root.initial!.target[0]!.key))}`);

  const edges = new Map<string, string[]>();
  const groups = new Set<string>();
  for (const transition of machineTransitions()) {
    let sources = leaves(transition.source);
    if (sources.length > EXPAND_LIMIT) {
      const group = `any_${mermaidId(transition.source)}`;
      if (!groups.has(group)) {
        groups.add(group);
        lines.push(`  state "any state of ${mermaidId(transition.source)}" as ${group}`);
      }
      sources = [group];
    }
    for (const target of transition.targets) {
      const to = byPath.get(target)!.type === 'history' ? target : start(target);
      for (const source of sources) {
        const edge = `${mermaidId(source)} --> ${mermaidId(to)}`;
        edges.set(edge, [...(edges.get(edge) ?? []), label(transition)]);
      }
    }
  }
  for (const [edge, labels] of edges) lines.push(`  ${edge} : ${[...new Set(labels)].join('<br/>')}`);
  return lines.join('\n');
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** A Markdown table of every transition, including those that only run actions. */
export function renderTransitionTable(): string {
  const rows = machineTransitions().map((t) => {
    const target = t.targets.length ? t.targets.join(', ') + (t.reenter ? ' (re-entered)' : '') : '(stays)';
    return `| ${cell(t.source)} | ${cell(t.event)} | ${cell(t.guard ?? '')} | ${cell(target)} | ${cell(t.actions.join(', '))} |`;
  });
  return ['| From | Event | Guard | To | Actions |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** A Markdown table of the guards used, with what each means. */
export function renderGuardTable(): string {
  const used = new Set(machineTransitions().flatMap((t) => (t.guard ? [t.guard.replace(/\(.*$/, '')] : [])));
  const missing = [...used].filter((guard) => !(guard in GUARD_DESCRIPTIONS));
  if (missing.length > 0) {
    throw new Error(
      `diagram: describe these guards in GUARD_DESCRIPTIONS (scripts/state-diagram.ts): ${missing.join(', ')}`,
    );
  }
  const rows = [...used].sort().map((guard) => `| ${guard} | ${cell(GUARD_DESCRIPTIONS[guard]!)} |`);
  return ['| Guard | Holds when |', '| --- | --- |', ...rows].join('\n');
}

/** A Markdown table of the states and the phase each one shows in status. */
export function renderStateTable(): string {
  const rows = machineStates()
    .filter((state) => state.type !== 'history')
    .map(
      (state) => `| ${state.path} | ${state.phase ?? (state.path === 'suspended' ? '(unchanged)' : '')} |`,
    );
  return ['| State | status.phase |', '| --- | --- |', ...rows].join('\n');
}
