import type { CelEnv, parse } from '@bufbuild/cel';
import { celLibrary } from '../api/cel-library.ts';

// Metric conditions in CEL (docs/decisions/0004-cel-conditions.md). Variables:
//   result  — the value: a double for a single series, a list of doubles for several
//   results — always the list of values (one element for a single series)
// An expression is parsed and planned once and cached; anything that can be found wrong
// without data (syntax, unknown variables or functions) is reported by checkCelExpression
// so a Canary is rejected when it is first parsed, not at its first analysis.

export const CEL_VARIABLES = ['result', 'results'] as const;

let env: CelEnv | undefined;
/** The environment of the variables above, made with the library at its first use. */
function celEnvironment(): CelEnv {
  const { celEnv, CelScalar, listType } = celLibrary();
  env ??= celEnv({ variables: { result: CelScalar.DYN, results: listType(CelScalar.DOUBLE) } });
  return env;
}

export class CelConditionError extends Error {
  readonly expression: string;
  constructor(expression: string, message: string) {
    super(message);
    this.name = 'CelConditionError';
    this.expression = expression;
  }
}

const planFor = (parsed: ReturnType<typeof parse>) => celLibrary().plan(celEnvironment(), parsed);
type Program = ReturnType<typeof planFor>;
type Expr = ReturnType<typeof parse>['expr'];

const cache = new Map<string, Program | CelConditionError>();
const CACHE_LIMIT = 1000;

function syntaxMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^<input>:/, 'at ');
}

/** Identifiers and functions an expression uses, minus comprehension variables it binds. */
function problemsIn(expr: Expr | undefined, bound: ReadonlySet<string>, problems: string[]): void {
  if (!expr) return;
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'identExpr':
      if (!bound.has(kind.value.name) && !(CEL_VARIABLES as readonly string[]).includes(kind.value.name)) {
        problems.push(`unknown variable "${kind.value.name}" (available: ${CEL_VARIABLES.join(', ')})`);
      }
      return;
    case 'selectExpr':
      problemsIn(kind.value.operand, bound, problems);
      return;
    case 'callExpr': {
      const { function: name, target, args } = kind.value;
      // Operators (`_>=_`, `@in`, `!_`) and the logic the planner handles itself.
      const isOperator = /^[_@!-]/.test(name);
      if (!isOperator && !celEnvironment().funcs.find(name)) problems.push(`unknown function "${name}"`);
      problemsIn(target, bound, problems);
      for (const arg of args) problemsIn(arg, bound, problems);
      return;
    }
    case 'listExpr':
      for (const element of kind.value.elements) problemsIn(element, bound, problems);
      return;
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') problemsIn(entry.keyKind.value, bound, problems);
        problemsIn(entry.value, bound, problems);
      }
      return;
    case 'comprehensionExpr': {
      const c = kind.value;
      problemsIn(c.iterRange, bound, problems);
      const inner = new Set([...bound, c.iterVar, c.iterVar2, c.accuVar].filter(Boolean));
      problemsIn(c.accuInit, inner, problems);
      problemsIn(c.loopCondition, inner, problems);
      problemsIn(c.loopStep, inner, problems);
      problemsIn(c.result, inner, problems);
      return;
    }
    default:
      return;
  }
}

/**
 * CEL has no step budget here and evaluation is synchronous: one Canary's nested macros
 * (`[..].all(a, [..].all(b, …))`) would hold the controller's event loop for seconds and stall
 * every other canary (found by `npm run chaos -- fuzz`). So an expression is refused before it
 * ever runs when its estimated steps exceed MAX_CEL_STEPS or it has more than MAX_CEL_MACROS macros.
 */
export const MAX_CEL_STEPS = 100_000;
export const MAX_CEL_MACROS = 8;
/** The size assumed for a list not written out: `results` and what macros compute. */
const ASSUMED_LIST_SIZE = 1000;

/** Estimated evaluation steps of an expression, and how many macros (comprehensions) it has. */
export function celCost(expr: Expr | undefined): { steps: number; macros: number } {
  if (!expr) return { steps: 0, macros: 0 };
  const kind = expr.exprKind;
  const sum = (exprs: (Expr | undefined)[]) =>
    exprs.map(celCost).reduce((a, b) => ({ steps: a.steps + b.steps, macros: a.macros + b.macros }), {
      steps: 1,
      macros: 0,
    });
  switch (kind.case) {
    case 'selectExpr':
      return sum([kind.value.operand]);
    case 'callExpr':
      return sum([kind.value.target, ...kind.value.args]);
    case 'listExpr':
      return sum(kind.value.elements);
    case 'structExpr':
      return sum(
        kind.value.entries.flatMap((e) => [
          e.keyKind.case === 'mapKey' ? e.keyKind.value : undefined,
          e.value,
        ]),
      );
    case 'comprehensionExpr': {
      const c = kind.value;
      const range = c.iterRange?.exprKind;
      const size = range?.case === 'listExpr' ? range.value.elements.length : ASSUMED_LIST_SIZE;
      const outside = sum([c.iterRange, c.accuInit, c.result]);
      const body = sum([c.loopCondition, c.loopStep]);
      return { steps: outside.steps + size * body.steps, macros: outside.macros + body.macros + 1 };
    }
    default:
      return { steps: 1, macros: 0 };
  }
}

function compile(expression: string): Program | CelConditionError {
  let parsed;
  try {
    parsed = celLibrary().parse(expression);
  } catch (error) {
    return new CelConditionError(
      expression,
      `CEL expression "${expression}" is not valid: ${syntaxMessage(error)}`,
    );
  }
  const problems: string[] = [];
  problemsIn(parsed.expr, new Set(), problems);
  if (problems.length > 0) {
    return new CelConditionError(
      expression,
      `CEL expression "${expression}": ${[...new Set(problems)].join('; ')}`,
    );
  }
  const cost = celCost(parsed.expr);
  if (cost.steps > MAX_CEL_STEPS || cost.macros > MAX_CEL_MACROS) {
    return new CelConditionError(
      expression,
      `CEL expression "${expression}" is too costly to evaluate: about ${cost.steps} steps and ${cost.macros} macros (at most ${MAX_CEL_STEPS} steps and ${MAX_CEL_MACROS} macros; lists not written out count as ${ASSUMED_LIST_SIZE} elements); nest fewer macros`,
    );
  }
  const program = planFor(parsed);
  // A dry run on a typical value catches expressions that can never be a condition
  // (`result + 1`); data-dependent failures (an index out of range) are left for real data.
  const sample = program({ result: 1.0, results: [1.0] });
  if (!celLibrary().isCelError(sample) && typeof sample !== 'boolean') {
    return new CelConditionError(
      expression,
      `CEL expression "${expression}" must evaluate to true or false, e.g. "result >= 0.95"`,
    );
  }
  return program;
}

function compiled(expression: string): Program | CelConditionError {
  let entry = cache.get(expression);
  if (!entry) {
    entry = compile(expression);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(expression, entry);
  }
  return entry;
}

/** Why an expression cannot be a metric condition, or undefined when it can. */
export function checkCelExpression(expression: string): string | undefined {
  const entry = compiled(expression);
  return entry instanceof CelConditionError ? entry.message : undefined;
}

/**
 * Evaluates a condition for a metric value. Throws CelConditionError when the expression
 * is invalid, fails on this value (e.g. `result >= 1` with several series), or is not a bool.
 */
export function evaluateCondition(expression: string, value: number | number[]): boolean {
  const entry = compiled(expression);
  if (entry instanceof CelConditionError) throw entry;
  const results = Array.isArray(value) ? value : [value];
  const outcome = entry({ result: value, results });
  if (celLibrary().isCelError(outcome)) {
    const shape = Array.isArray(value) ? `a list of ${value.length} values` : 'a number';
    throw new CelConditionError(
      expression,
      `CEL expression "${expression}" failed with result = ${shape}: ${outcome.message}`,
    );
  }
  if (typeof outcome !== 'boolean') {
    throw new CelConditionError(
      expression,
      `CEL expression "${expression}" gave ${String(outcome)}, expected true or false`,
    );
  }
  return outcome;
}
