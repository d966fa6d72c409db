import { InvalidArgumentError } from 'commander';

// Number flags of `npm run bench` and `npm run chaos`.

export const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got ${value}`);
  return n;
};

export const nonNegativeInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer ≥ 0, got ${value}`);
  return n;
};
