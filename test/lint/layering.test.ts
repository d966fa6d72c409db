import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The layering rules of eslint.config.js (run by `npm run check`), checked on sample
// imports so that a change to the config cannot turn them into no-ops unnoticed.

const eslint = new ESLint();

async function restricted(filePath: string, specifier: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import { x } from '${specifier}';\nexport const y = x;\n`, {
    filePath,
  });
  return (result?.messages ?? []).some((m) => m.ruleId === 'no-restricted-imports');
}

describe('layering (eslint.config.js)', () => {
  it('lets the machine import src/api and itself only', async () => {
    expect(await restricted('src/machine/probe.ts', '../api/canary.ts')).toBe(false);
    expect(await restricted('src/machine/probe.ts', './plan.ts')).toBe(false);
    expect(await restricted('src/machine/probe.ts', '../controller/reconciler.ts')).toBe(true);
    expect(await restricted('src/machine/probe.ts', '../kube/client.ts')).toBe(true);
  });

  it('lets src/api import nothing else of Sluice', async () => {
    expect(await restricted('src/api/probe.ts', './status.ts')).toBe(false);
    expect(await restricted('src/api/probe.ts', '../machine/plan.ts')).toBe(true);
  });

  it('keeps src/dev to the CLI', async () => {
    expect(await restricted('src/controller/probe.ts', '../dev/cluster.ts')).toBe(true);
    expect(await restricted('src/routers/probe.ts', '../dev/routing.ts')).toBe(true);
    expect(await restricted('src/cli/probe.ts', '../dev/cluster.ts')).toBe(false);
    expect(await restricted('src/dev/probe.ts', './cluster.ts')).toBe(false);
    expect(await restricted('src/controller/probe.ts', '../kube/client.ts')).toBe(false);
  });
});
