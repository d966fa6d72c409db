import { z } from 'zod';
import { PRESERVE_UNKNOWN, StringMap } from './common.ts';
import { Release } from './release.ts';

// Status is where a canary's state lives. The schema keeps unknown fields
// (x-kubernetes-preserve-unknown-fields) so the controller can add a small field later
// without a CRD change breaking older stored objects; new fields are documented in docs/api.md.

export const PHASES = [
  'Initializing',
  'Initialized',
  'Waiting',
  'Progressing',
  'WaitingPromotion',
  'Promoting',
  'Finalising',
  'Succeeded',
  'Failed',
  'Terminating',
  'Terminated',
] as const;
export type Phase = (typeof PHASES)[number];

/** Phases with no rollout under way: the canary waits for a new revision (or a command). */
export const RESTING_PHASES: ReadonlySet<Phase> = new Set(['Initialized', 'Succeeded', 'Failed']);

/** Condition types Sluice maintains, read by kstatus (Flux) and Argo CD. */
export const CONDITION_TYPES = { Ready: 'Ready', Stalled: 'Stalled', Reconciling: 'Reconciling' } as const;

const RFC3339 = z.iso.datetime({ offset: true });

/** A Kubernetes condition (metav1.Condition conventions). */
export const Condition = z.object({
  type: z.string().min(1).max(316).describe('Ready, Stalled or Reconciling'),
  status: z.enum(['True', 'False', 'Unknown']).describe('True, False or Unknown'),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, { message: 'expected a CamelCase reason' })
    .describe('CamelCase reason for the last transition'),
  message: z.string().max(32768).optional().describe('Human-readable detail'),
  lastTransitionTime: RFC3339.describe('When status last changed (RFC 3339)'),
  observedGeneration: z
    .int()
    .min(0)
    .optional()
    .describe('metadata.generation the condition was computed from'),
});
export type Condition = z.output<typeof Condition>;

/** Conditions as a map keyed by type, so server-side apply merges them per type. */
export const Conditions = z
  .array(Condition)
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

/** The status of an object the controller only checks (a MetricTemplate, an AlertProvider). */
export function conditionsStatus(what: string) {
  return z.looseObject({ conditions: Conditions.optional().describe(`Conditions of the ${what}`) });
}

/** The outcome of one metric check at the latest analysis step. */
export const AnalysisResult = z.object({
  name: z.string().describe('Metric name'),
  value: z.number().optional().describe('Observed value, when there was one'),
  threshold: z.string().optional().describe('What was required, as text (range or CEL condition)'),
  passed: z.boolean().describe('Whether the check passed'),
  inconclusive: z
    .boolean()
    .optional()
    .describe(
      'Neither its successCondition nor its failureCondition held: the step is held, no failure counted',
    ),
  reason: z.string().optional().describe('Why it failed (no data, provider error, out of range, …)'),
  dryRun: z.boolean().optional().describe('The check was informational only'),
});
export type AnalysisResult = z.output<typeof AnalysisResult>;

/** One judged metric's verdict at the judge's latest look (judgeStatusEntry in src/analysis/judge.ts). */
export const JudgeVerdictStatus = z.object({
  name: z.string().describe('Judged metric name'),
  outcome: z
    .enum(['pass', 'fail', 'undecided', 'noData', 'error'])
    .describe(
      'fail: a regression, decided; pass: within the tolerance, shown; undecided: no regression shown yet',
    ),
  canary: z.string().optional().describe("The canary's value since the rollout started"),
  primary: z.string().optional().describe("The primary's value over the same time"),
  effect: z
    .string()
    .optional()
    .describe('Effect size with its interval, e.g. 2.94 [1.04, 7.11] (times the primary)'),
  bayesFactor: z
    .string()
    .optional()
    .describe('Evidence of a regression (a regression at 1 / (1 - confidence))'),
  reason: z
    .string()
    .max(512)
    .describe('The verdict in one line: both values and sample counts, effect, limit, evidence'),
});
export type JudgeVerdictStatus = z.output<typeof JudgeVerdictStatus>;

/** The statistical judge of the revision under analysis: its verdicts and the counts it keeps between looks. */
export const JudgeStatus = z.object({
  revision: z.string().describe('The revision judged (a new revision starts the judge afresh)'),
  lookedAt: RFC3339.describe('When the judge last looked (at an analysis round)'),
  verdicts: z.array(JudgeVerdictStatus).max(18).describe('One per judged metric'),
  state: z
    .looseObject({})
    .meta(PRESERVE_UNKNOWN)
    .describe("The judge's counts between looks (shape owned by src/analysis/judge.ts; a few kB at most)"),
});
export type JudgeStatus = z.output<typeof JudgeStatus>;

/** The last manual command (annotation) the controller acted on; see commands.ts. */
export const HandledCommand = z.object({
  id: z.string().describe('Value of the sluice.dev/command-id annotation'),
  command: z.string().describe('The command: promote, abort, pause, resume or retry'),
  handledAt: RFC3339.describe('When the controller acted on it'),
  result: z
    .string()
    .optional()
    .describe(
      'Accepted, or why it was ignored (the machine\'s words, e.g. "abort ignored: the canary is Initialized")',
    ),
});
export type HandledCommand = z.output<typeof HandledCommand>;

/** The no-progress clock: effects failing with errors that may go away (apiserver 5xx, 429, 409). */
export const NoProgress = z.object({
  since: RFC3339.describe('When the first of the failures came'),
  reason: z.string().max(32768).describe('The last failure, e.g. "could not setRoutes: …"'),
});
export type NoProgress = z.output<typeof NoProgress>;

export const CanaryStatus = z
  .looseObject({
    phase: z.enum(PHASES).optional().describe('Where the canary is in its lifecycle'),
    canaryWeight: z.int().min(0).max(100).optional().describe('Traffic percentage routed to the canary'),
    failedChecks: z.int().min(0).optional().describe('Failed checks in the current analysis'),
    iterations: z.int().min(0).optional().describe('Checks done in the current A/B or blue/green analysis'),
    lastAppliedSpec: z.string().optional().describe('Hash of the target pod template last seen'),
    lastPromotedSpec: z.string().optional().describe('Hash of the pod template last promoted'),
    trackedConfigs: StringMap.optional().describe('Checksums of tracked ConfigMaps/Secrets, by kind/name'),
    lastTransitionTime: RFC3339.optional().describe('When the phase last changed'),
    message: z.string().optional().describe('What is happening now, in words (also in the Ready condition)'),
    revisionDetectedAt: RFC3339.optional().describe('When the revision under analysis was first seen'),
    release: Release.optional().describe(
      'The DORA annotations (dora.metrics/*) of the revision under analysis, from its pod template or the target',
    ),
    sessionAffinityCookie: z
      .string()
      .optional()
      .describe('Cookie pinning users to the canary, name=value (the controller does not write it yet)'),
    previousSessionAffinityCookie: z
      .string()
      .optional()
      .describe('Cookie of the previous revision (the controller does not write it yet)'),
    observedGeneration: z.int().min(0).optional().describe('metadata.generation the status reflects'),
    conditions: Conditions.optional().describe('Ready, Stalled and Reconciling'),
    machine: z
      .looseObject({})
      .meta(PRESERVE_UNKNOWN)
      .optional()
      .describe('Persisted state-machine snapshot (shape owned by src/machine)'),
    nextStepAt: RFC3339.optional().describe('When the next analysis step is due'),
    deadlines: z
      .record(z.string(), RFC3339)
      .optional()
      .describe('Named deadlines, e.g. progress or pause, as RFC 3339 times'),
    lastAnalysis: z.array(AnalysisResult).optional().describe('Results of the latest metric checks'),
    judge: JudgeStatus.optional().describe(
      "The statistical judge's latest verdicts and state (analysis.judge)",
    ),
    lastCommand: HandledCommand.optional().describe('The last manual command acted on'),
    noProgress: NoProgress.optional().describe(
      "Since when the rollout's effects keep failing with an error that may go away; after progressDeadlineSeconds the release rolls back (kept here so a controller restart does not restart the clock)",
    ),
    heldBy: z
      .object({
        shard: z.string().optional().describe('The shard; absent for the replica without --shard'),
      })
      .optional()
      .describe(
        'The controller shard acting on the canary; absent once it handed the canary over (relabelled to another shard)',
      ),
  })
  .meta(PRESERVE_UNKNOWN);
export type CanaryStatus = z.output<typeof CanaryStatus>;
