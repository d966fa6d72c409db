import { readFileSync } from 'node:fs';

/** Sluice's version, from the package.json two levels above this file (in src/ and in dist/). */
export const VERSION: string = (() => {
  try {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
