// The dashboard's JSON API (`/api/canaries`, `/api/canaries/<ns>/<name>`, the stream):
// shapes shared by the server and the browser bundle. Types only, so the bundle imports
// nothing from Node.

/** One canary as the list shows it. */
export interface CanarySummary {
  /** `<namespace>/<name>`. */
  key: string;
  namespace: string;
  name: string;
  /** The status phase, or `Pending` before the controller wrote one. */
  phase: string;
  weight: number;
  maxWeight: number;
  /** The weight steps of the analysis program, in order (empty for A/B and blue/green). */
  stepWeights: number[];
  /** 1-based index of the current weight step among `stepWeights`, 0 before the first. */
  step: number;
  failedChecks: number;
  threshold: number;
  /** Failed, rolling back, or failing checks: shown first. */
  failing: boolean;
  /** Held by `pause` (checks go on). */
  paused: boolean;
  /** The gate the canary waits at (confirm-rollout, confirm-promotion, pause …), if any. */
  waitingFor: string | null;
  lastTransitionTime: string | null;
  message: string;
  strategy: 'canary' | 'A/B testing' | 'blue/green';
  provider: string | null;
  target: string;
  /** The statistical judge's verdict, when the last analysis has one. */
  verdict: Verdict | null;
  suspended: boolean;
}

export interface Verdict {
  passed: boolean;
  /** e.g. "request-duration: canary 120 vs primary 98 (+22%, interval 12 … 31)". */
  text: string;
}

/**
 * One entry of `status.lastAnalysis`. The fixed fields are the API's; the judge (when a
 * metric uses it) adds estimates for the canary and the primary, an effect with its
 * interval and the evidence. Anything else the controller adds lands in `extra`.
 */
export interface AnalysisEntry {
  name: string;
  passed: boolean;
  /** Neither condition held: the step is held, no failure counted. */
  inconclusive?: boolean;
  value?: number;
  threshold?: string;
  reason?: string;
  dryRun?: boolean;
  canary?: number;
  primary?: number;
  effect?: number;
  interval?: [number, number];
  evidence?: string;
  extra: Record<string, string>;
}

/** One observed check of one metric, for its chart. */
export interface MetricPoint {
  /** Milliseconds since the epoch. */
  at: number;
  value: number | null;
  passed: boolean | null;
  canary?: number;
  primary?: number;
  low?: number;
  high?: number;
}

export interface WeightPoint {
  at: number;
  weight: number;
}

export type TimelineKind = 'event' | 'gate' | 'command' | 'webhook';

export interface TimelineEntry {
  /** RFC 3339. */
  at: string;
  kind: TimelineKind;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  count: number;
  /** Who did it, when known (a dashboard user, a Slack user). */
  by?: string;
}

export interface MetricLimit {
  min?: number;
  max?: number;
}

export interface CanaryDetail {
  summary: CanarySummary;
  analysis: AnalysisEntry[];
  /** Weight over time: what this server watched, plus Prometheus history when configured. */
  weights: WeightPoint[];
  metrics: Record<string, MetricPoint[]>;
  limits: Record<string, MetricLimit>;
  timeline: TimelineEntry[];
  revisions: { canary: string | null; primary: string | null; lastPromoted: string | null };
  lastCommand: { id: string; command: string; handledAt: string; result?: string } | null;
  interval: string;
  /** Where the weight and metric history starts (the server's start, or Prometheus's range). */
  historySince: number;
}

export const DASHBOARD_COMMANDS = ['promote', 'abort', 'pause', 'resume', 'retry'] as const;
export type DashboardCommand = (typeof DASHBOARD_COMMANDS)[number];

/** What the page needs to know about the server (`/api/config`). */
export interface DashboardConfig {
  readOnly: boolean;
  /**
   * `kubeconfig`: buttons act as the identity the dashboard runs with (`sluice dashboard`).
   * `token`: each press carries the user's Kubernetes bearer token and is checked with a
   * SubjectAccessReview (the controller's dashboard).
   */
  auth: 'kubeconfig' | 'token';
  /** The namespaces watched, or null for all. */
  namespaces: string[] | null;
  version: string;
}

/** `/api/canaries/<ns>/<name>/access`: may this request press the buttons? */
export interface Access {
  allowed: boolean;
  /** Why not, in words the page shows next to the buttons. */
  reason: string;
  user?: string;
}

/** Messages of the `/api/stream` server-sent events. */
export type StreamMessage =
  | { type: 'canary'; summary: CanarySummary }
  | { type: 'removed'; key: string }
  /** Something on the canary's page changed (Events, history). */
  | { type: 'changed'; key: string };
