import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CelConditionError, checkCelExpression, evaluateCondition } from './cel.ts';

describe('checkCelExpression', () => {
  it.each([
    'result >= 0.95',
    'result >= 1',
    'result < 500.0 && result > 0.0',
    'results.all(r, r < 500.0)',
    'results.exists(r, r > 0.5) || size(results) == 0',
    'size(results) == 3 && results[0] > results[1]',
    'result in [1.0, 2.0]',
    '!(result > 10.0)',
    'result >= 99 ? true : false',
  ])('accepts %s', (expression) => {
    expect(checkCelExpression(expression)).toBeUndefined();
  });

  it.each([
    ['result >=', /is not valid: at 1:/],
    ['result >= 0.95)', /is not valid/],
    ['result = 1', /is not valid/],
    ['"unterminated', /is not valid/],
  ])('rejects the syntax error in %s', (expression, message) => {
    expect(checkCelExpression(expression)).toMatch(message);
  });

  it('names an unknown variable and lists the available ones', () => {
    expect(checkCelExpression('value >= 0.95')).toBe(
      'CEL expression "value >= 0.95": unknown variable "value" (available: result, results)',
    );
  });

  it('accepts the variables a macro binds but not a typo beside them', () => {
    expect(checkCelExpression('results.all(r, r > 1.0)')).toBeUndefined();
    expect(checkCelExpression('results.all(r, x > 1.0)')).toMatch(/unknown variable "x"/);
  });

  it('names an unknown function', () => {
    expect(checkCelExpression('isNaN(result)')).toMatch(/unknown function "isNaN"/);
    expect(checkCelExpression('math.greatest(results) < 5.0')).toMatch(/unknown/);
  });

  it('rejects an expression that is not a condition', () => {
    expect(checkCelExpression('result * 100.0')).toBe(
      'CEL expression "result * 100.0" must evaluate to true or false, e.g. "result >= 0.95"',
    );
    expect(checkCelExpression('result')).toMatch(/must evaluate to true or false/);
  });

  it('refuses nested macros that would hold the event loop, before ever running them', () => {
    // Found by `npm run chaos -- fuzz`: six nested all() over ten elements took seconds, and
    // every other canary's analysis timed out meanwhile.
    const ten = '[1,2,3,4,5,6,7,8,9,10]';
    const bomb = `${ten}.all(a, ${ten}.all(b, ${ten}.all(c, ${ten}.all(d, ${ten}.all(e, ${ten}.all(f, a+b+c+d+e+f > 0))))))`;
    const started = Date.now();
    expect(checkCelExpression(bomb)).toMatch(/is too costly to evaluate: about \d+ steps and 6 macros/);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(checkCelExpression('results.all(r, results.all(s, r <= s))')).toMatch(/too costly/);
    const chain = `${ten}${'.map(x, x * 2)'.repeat(9)}.size() > 0`;
    expect(checkCelExpression(chain)).toMatch(/9 macros/);
    expect(
      checkCelExpression(`${ten}.all(a, ${ten}.exists(b, a == b)) && results.all(r, r > 0.0)`),
    ).toBeUndefined();
  });

  it('gives the same answer for a cached expression', () => {
    const first = checkCelExpression('result >');
    expect(first).toBeDefined();
    expect(checkCelExpression('result >')).toBe(first);
  });
});

describe('evaluateCondition', () => {
  it('binds result to the number and results to a one-element list', () => {
    expect(evaluateCondition('result >= 0.95', 0.99)).toBe(true);
    expect(evaluateCondition('result >= 0.95', 0.9)).toBe(false);
    expect(evaluateCondition('size(results) == 1 && results[0] == result', 0.5)).toBe(true);
  });

  it('compares doubles with int literals', () => {
    expect(evaluateCondition('result >= 99', 99.5)).toBe(true);
    expect(evaluateCondition('result < 500', 812)).toBe(false);
  });

  it('binds both variables to the list for several series', () => {
    expect(evaluateCondition('results.all(r, r < 500.0)', [120, 480])).toBe(true);
    expect(evaluateCondition('results.all(r, r < 500.0)', [120, 800])).toBe(false);
    expect(evaluateCondition('size(result) == 2', [1, 2])).toBe(true);
  });

  it('fails with a clear message when a number condition meets several series', () => {
    expect(() => evaluateCondition('result >= 0.95', [0.99, 0.97])).toThrowError(
      /CEL expression "result >= 0.95" failed with result = a list of 2 values: .*no matching overload/,
    );
  });

  it('throws CelConditionError for an invalid expression', () => {
    let thrown: unknown;
    try {
      evaluateCondition('result >=', 1);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CelConditionError);
    expect((thrown as CelConditionError).expression).toBe('result >=');
  });

  it('agrees with a threshold min for any value', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (value, min) => {
          expect(evaluateCondition(`result >= ${min.toExponential()}`, value)).toBe(value >= min);
        },
      ),
      { numRuns: 200 },
    );
  });
});
