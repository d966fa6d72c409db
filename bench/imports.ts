import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { CONTAINER_ENV, controllerNodeFlags } from './controllers.ts';
import { median } from './stats.ts';
import { MB } from './window.ts';

// `imports`: what loading a module costs a fresh Node process, with the controller's Node
// flags and environment: each top-level dependency alone, then Sluice's own module graph.
// No control plane. Each row is its own process (median of `rounds`): resident memory right
// after the imports (what the process holds before any work), the V8 heap in use after two
// full collections (what stays live), and — in one more process with a counting module hook —
// the modules loaded and their source size (V8 keeps every source for lazy compilation).

export interface ImportRow {
  name: string;
  /** Module specifiers or file paths imported in order. */
  imports: string[];
}

export const importFigures = z.object({
  rss_mb: z.number(),
  heap_used_mb: z.number(),
  modules: z.number(),
  source_mb: z.number(),
});
export type ImportFigures = z.infer<typeof importFigures>;

const measured = z.object({
  rss: z.number(),
  heapUsed: z.number(),
  modules: z.number(),
  sourceBytes: z.number(),
});

// Run as `node --input-type=module -e`: imports IMPORTS (a JSON list), collects, prints one JSON line.
const CHILD = `
import { registerHooks } from 'node:module';
let modules = 0, sourceBytes = 0;
if (process.env.COUNT_MODULES === '1') {
  registerHooks({
    load(url, context, next) {
      const result = next(url, context);
      if (!url.startsWith('node:')) {
        modules += 1;
        sourceBytes += result.source ? result.source.length : 0;
      }
      return result;
    },
  });
}
for (const specifier of JSON.parse(process.env.IMPORTS)) await import(specifier);
const rss = process.memoryUsage().rss;
globalThis.gc();
globalThis.gc();
process.stdout.write(JSON.stringify({ rss, heapUsed: process.memoryUsage().heapUsed, modules, sourceBytes }) + '\\n');
`;

function measureOnce(
  cwd: string,
  imports: string[],
  countModules: boolean,
): Promise<z.infer<typeof measured>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...controllerNodeFlags(), '--expose-gc', '--input-type=module', '-e', CHILD],
      {
        cwd,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: {
          ...process.env,
          ...CONTAINER_ENV,
          IMPORTS: JSON.stringify(imports),
          COUNT_MODULES: countModules ? '1' : '0',
        },
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`importing ${imports.join(', ')}: node exited ${code}`));
      else resolve(measured.parse(JSON.parse(out.trim().split('\n').at(-1) ?? '')));
    });
  });
}

export async function measureImports(cwd: string, row: ImportRow, rounds: number): Promise<ImportFigures> {
  const runs = [];
  for (let i = 0; i < rounds; i++) runs.push(await measureOnce(cwd, row.imports, false));
  const counted = await measureOnce(cwd, row.imports, true);
  return {
    rss_mb: median(runs.map((r) => r.rss)) / MB,
    heap_used_mb: median(runs.map((r) => r.heapUsed)) / MB,
    modules: counted.modules,
    source_mb: counted.sourceBytes / MB,
  };
}

/** The top-level dependencies the controller imports, then Sluice's compiled modules (`entry` is bin/sluice.js). */
export function importRows(entry: string): ImportRow[] {
  const dist = join(dirname(entry), '..', 'dist');
  const own = (path: string) => pathToFileURL(join(dist, path)).href;
  const dependencies = [
    '@kubernetes/client-node',
    'xstate',
    'zod',
    'pino',
    'prom-client',
    'got',
    '@bufbuild/cel',
    'prometheus-query',
    'commander',
    'yaml',
    'cockatiel',
    'jsonpath-plus',
  ];
  return [
    { name: 'bare Node (node:os)', imports: ['node:os'] },
    ...dependencies.map((name) => ({ name, imports: [name] })),
    { name: 'all of the above', imports: dependencies },
    { name: 'sluice: kube/client.js', imports: [own('kube/client.js')] },
    { name: 'sluice: controller/controller.js', imports: [own('controller/controller.js')] },
    { name: 'sluice: cli/main.js, no library hooks', imports: [own('cli/main.js')] },
    // What bin/sluice.js loads: the module hooks first (src/kube/library-hooks.ts), then the CLI.
    {
      name: 'sluice: bin/sluice.js (sluice controller)',
      imports: [own('kube/library-hooks.js'), own('cli/main.js')],
    },
  ];
}

/** A plain-text table of the rows' figures. */
export function importsTable(rows: readonly { name: string; figures: ImportFigures }[]): string {
  const header = ['loaded', 'rss_mb', 'heap_used_mb', 'modules', 'source_mb'];
  const body = rows.map(({ name, figures }) => [
    name,
    figures.rss_mb.toFixed(1),
    figures.heap_used_mb.toFixed(1),
    String(figures.modules),
    figures.source_mb.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
