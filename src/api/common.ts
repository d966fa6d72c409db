import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.ts';
import { celLibrary } from './cel-library.ts';

export const GROUP = 'sluice.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * A cross-field rule, written once in two languages: CEL for the apiserver
 * (`x-kubernetes-validations`) and TypeScript for zod, so objects that never went
 * through the apiserver (migrate, tests, old stored objects) are held to the same rules.
 */
export interface ValidationRule<T> {
  /** CEL with `self` bound to the value the rule is attached to. */
  rule: string;
  /** What a person reads: names the field and what is expected. */
  message: string;
  /** The field the error is reported on, relative to the value (Kubernetes `fieldPath`), e.g. `.stepWeight`. */
  fieldPath?: string;
  check: (value: T) => boolean;
}

/** The key the CRD generator reads the CEL rules from. */
export const VALIDATIONS_KEY = 'x-kubernetes-validations';

/** `.stepWeight` / `.a.b` → ['stepWeight'] / ['a', 'b'] */
function fieldPathSegments(fieldPath: string | undefined): string[] {
  if (!fieldPath) return [];
  return fieldPath.split('.').filter((part) => part.length > 0);
}

/** Attaches rules to a schema: checked by zod on parse and emitted into the CRD. */
export function withRules<S extends z.ZodType>(schema: S, rules: ValidationRule<z.output<S>>[]): S {
  const previous = schema.meta() ?? {};
  const previousRules = (previous[VALIDATIONS_KEY] as unknown[] | undefined) ?? [];
  const refined = schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      if (!rule.check(value)) {
        ctx.addIssue({
          code: 'custom',
          message: rule.message,
          path: fieldPathSegments(rule.fieldPath),
          input: value,
        });
      }
    }
  });
  return refined.meta({
    ...previous,
    [VALIDATIONS_KEY]: [
      ...previousRules,
      ...rules.map(({ rule, message, fieldPath }) =>
        fieldPath ? { rule, message, fieldPath } : { rule, message },
      ),
    ],
  });
}

/** A Go duration string ("30s", "1m", "1h30m"). */
export function durationString() {
  return z
    .string()
    .max(32)
    .regex(new RegExp(DURATION_PATTERN), { message: 'expected a duration such as 30s, 1m or 1h30m' });
}

/** A duration with a lower bound, checked by pattern + CEL `duration()` on the apiserver. */
export function durationAtLeast(min: string, field: string) {
  const minMs = parseDuration(min) ?? 0;
  return withRules(durationString(), [
    {
      // Guarded by the pattern so a malformed value gets one error (the pattern's), not two.
      rule: `!self.matches(r'${DURATION_PATTERN}') || duration(self) >= duration('${min}')`,
      message: `${field} must be at least ${min}`,
      // An unparseable value is the pattern's error to report, not this rule's.
      check: (value) => (parseDuration(value) ?? minMs) >= minMs,
    },
  ]);
}

/** A whole-number percentage, 0–100 (weights, readiness thresholds). */
export function percentage(min = 0) {
  return z.int().min(min).max(100);
}

/** Marks a schema whose unknown fields the apiserver must keep (Istio/Gateway API passthroughs). */
export const PRESERVE_UNKNOWN = { 'x-kubernetes-preserve-unknown-fields': true } as const;

/** int or string (Service targetPort), emitted as `x-kubernetes-int-or-string`. */
export function intOrString() {
  return z.union([z.int().min(0), z.string().min(1)]).meta({ 'x-kubernetes-int-or-string': true });
}

export const StringMap = z.record(z.string(), z.string());

export const LocalObjectReference = z.object({
  name: z.string().min(1).describe('Name of the referent, in the same namespace'),
});

export const CrossNamespaceObjectReference = z.object({
  apiVersion: z.string().optional().describe('API version of the referent'),
  kind: z.string().optional().describe('Kind of the referent'),
  name: z.string().min(1).describe('Name of the referent'),
  namespace: z.string().optional().describe("Namespace of the referent; defaults to the Canary's namespace"),
});
export type CrossNamespaceObjectReference = z.output<typeof CrossNamespaceObjectReference>;

/** Labels and annotations Sluice sets on an object it generates. */
export const CustomMetadata = z.object({
  labels: StringMap.optional().describe('Labels added to the generated object'),
  annotations: StringMap.optional().describe('Annotations added to the generated object'),
});
export type CustomMetadata = z.output<typeof CustomMetadata>;

/** The parts of ObjectMeta Sluice reads; everything else passes through untouched. */
export const ObjectMeta = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.int().optional(),
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
});
export type ObjectMeta = z.output<typeof ObjectMeta>;

/** One of Sluice's custom resources: our apiVersion, its kind, metadata, spec and a status. */
export function customResource<Kind extends string, Spec extends z.ZodType, Status extends z.ZodType>(
  kind: Kind,
  spec: Spec,
  status: Status,
) {
  return z.object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: ObjectMeta,
    spec,
    status: status.optional(),
  });
}

/** The syntax error in a CEL expression, or undefined when it parses. */
export function celSyntaxError(expression: string): string | undefined {
  try {
    celLibrary().parse(expression);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.replace(/^<input>:/, 'at ') : String(error);
  }
}

/**
 * A CEL expression in Sluice's own fields (metric conditions). Only the syntax is checked
 * here; which variables exist is the evaluator's business (src/analysis).
 */
export function celExpression() {
  return z
    .string()
    .min(1)
    .max(4096)
    .superRefine((value, ctx) => {
      const problem = celSyntaxError(value);
      if (problem)
        ctx.addIssue({ code: 'custom', message: `not a valid CEL expression (${problem})`, input: value });
    });
}
