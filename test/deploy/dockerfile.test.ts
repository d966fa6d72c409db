import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONTROLLER_NODE_FLAGS } from '../../bench/controllers.ts';
import { find, kustomizeBuild, REPO, Workload } from './render.ts';

// There is no container engine on the development machines, so the image is not built
// here: these checks read the Dockerfile and .dockerignore as Docker would, and check
// them against the package (what the image must contain) and the manifests (how it runs).

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** The Dockerfile's instructions by stage: comments dropped, continuations joined. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: rest.replace(/\s+/g, ' ') };
    if (instruction.keyword === 'FROM') {
      const [, from = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args) ?? [];
      stages.push({ from, name, instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name = '', value = ''] = instruction.args.split('=');
      args.set(name, value);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

/** .dockerignore semantics: the last matching pattern wins; a pattern also covers what is below it. */
function ignored(patterns: string[], path: string): boolean {
  // `**/` may match no directory at all; `*` stays within one path segment.
  const toRegExp = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/\/$/, '')
        .split('**/')
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*\*/g, '.*')
            .replace(/\*/g, '[^/]*'),
        )
        .join('(?:.*/)?')}$`,
    );
  const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let result = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const regexp = toRegExp(negated ? raw.slice(1) : raw);
    if (prefixes.some((prefix) => regexp.test(prefix))) result = !negated;
  }
  return result;
}

let stages: Stage[];
let args: Map<string, string>;
let ignorePatterns: string[];
const runtime = () => stages.at(-1) as Stage;
const build = () => stages.find((s) => s.name === 'build') as Stage;
const all = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

beforeAll(async () => {
  ({ stages, args } = parseDockerfile(await readFile(join(REPO, 'Dockerfile'), 'utf8')));
  ignorePatterns = (await readFile(join(REPO, '.dockerignore'), 'utf8'))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
});

describe('Dockerfile', () => {
  it('builds in a build stage and runs from a separate runtime stage, both on Node 24', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    const base = args.get('NODE_IMAGE') ?? '';
    expect(base).toMatch(
      /^(node:24(\.\d+)*-(slim|alpine|bookworm-slim)|gcr\.io\/distroless\/nodejs24-debian\d+)/,
    );
    for (const stage of stages) expect(stage.from).toBe('${NODE_IMAGE}');
  });

  it('installs from the lockfile, compiles, then keeps production dependencies only', () => {
    const runs = all(build(), 'RUN').join(' && ');
    const order = ['npm ci', 'npm run build', 'npm prune --omit=dev'].map((step) => runs.indexOf(step));
    expect(
      order.every((index) => index >= 0),
      runs,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // The lockfile is copied before npm ci: the dependency layer is cached across source changes.
    const copies = all(build(), 'COPY');
    expect(copies[0]).toBe('package.json package-lock.json ./');
  });

  it('ships only the compiled code, the entry point, production node_modules and the CRDs', () => {
    const copies = all(runtime(), 'COPY');
    const sources = copies.map((c) => c.replace(/^--from=\S+ /, '').split(' ')[0]);
    expect(sources.sort()).toEqual(
      ['/app/dist', '/app/node_modules', '/app/package.json', 'bin', 'crds'].sort(),
    );
    for (const copy of copies.filter((c) => c.includes('node_modules') || c.includes('dist')))
      expect(copy).toMatch(/^--from=build /);
    for (const run of all(runtime(), 'RUN')) expect(run).not.toMatch(/npm (ci|install|i )|yarn|pnpm/);
  });

  it('leaves the local stack out: dist/dev is removed, and the CLI loads src/dev only for dev and demo', async () => {
    const runs = all(build(), 'RUN').join(' && ');
    expect(runs).toMatch(/npm run build && rm -rf dist\/dev /);
    // Every module `sluice controller` loads at start-up: the static imports from the CLI's entry.
    const loaded = new Set<string>();
    const pending = [join(REPO, 'src/cli/main.ts')];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (loaded.has(file)) continue;
      loaded.add(file);
      const text = await readFile(file, 'utf8');
      for (const [, specifier = ''] of text.matchAll(
        /^(?:import|export)\s+(?!type\s)[^;]*?from\s+'(\.[^']+)'/gms,
      ))
        pending.push(join(dirname(file), specifier));
    }
    const dev = [...loaded].map((f) => relative(REPO, f)).filter((f) => f.startsWith('src/dev/'));
    expect(dev).toEqual([]);
    expect([...loaded].map((f) => relative(REPO, f))).toContain('src/controller/reconciler.ts');
    // The CLI reaches src/dev through loadDevStack alone, which explains what is missing.
    for (const file of ['src/cli/dev.ts', 'src/cli/demo.ts']) {
      const text = await readFile(join(REPO, file), 'utf8');
      const dynamic = [...text.matchAll(/import\('\.\.\/dev\//g)].length;
      expect(dynamic, file).toBeGreaterThan(0);
      expect([...text.matchAll(/loadDevStack\(\(\) => import\('\.\.\/dev\//g)].length, file).toBe(dynamic);
    }
  });

  it('runs as the unprivileged uid the manifests expect, with the CLI as entry point', async () => {
    const users = all(runtime(), 'USER');
    const [uid] = (users.at(-1) ?? '').split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    // The USER comes after the last RUN: nothing at run time is root.
    const keywords = runtime().instructions.map((i) => i.keyword);
    expect(keywords.lastIndexOf('USER')).toBeGreaterThan(keywords.lastIndexOf('RUN'));
    const entrypoints = all(runtime(), 'ENTRYPOINT');
    expect(entrypoints).toHaveLength(1);
    const argv = z.array(z.string()).parse(JSON.parse(entrypoints[0] ?? ''));
    // node, its flags (the same ones the benchmarks measure Sluice with), then the CLI.
    expect(argv).toEqual(['node', ...CONTROLLER_NODE_FLAGS, '/app/bin/sluice.js']);
    expect(all(runtime(), 'CMD')).toEqual(['["controller"]']);
    const base = await kustomizeBuild('');
    const pod = Workload.parse(find(base, 'Deployment')).spec.template.spec;
    expect(pod.securityContext?.runAsUser).toBe(Number(uid));
    // deploy/loadtester runs `command: [sluice]`: the image puts it on PATH.
    expect(all(runtime(), 'RUN').join(' ')).toContain('ln -s /app/bin/sluice.js /usr/local/bin/sluice');
  });

  it('starts the compiled CLI the image contains', async () => {
    const entry = await readFile(join(REPO, 'bin/sluice.js'), 'utf8');
    // The module hooks that keep client-node's generated APIs out of start-up come first
    // (decision 0029-client-node-subset), then the CLI, imported once they are in place.
    expect(entry.indexOf("import '../dist/kube/library-hooks.js';")).toBeGreaterThan(-1);
    expect(entry.indexOf("await import('../dist/cli/main.js')")).toBeGreaterThan(
      entry.indexOf("import '../dist/kube/library-hooks.js';"),
    );
    await readFile(join(REPO, 'src/kube/library-hooks.ts'));
    const config = z
      .object({ compilerOptions: z.object({ rootDir: z.string(), outDir: z.string() }) })
      .parse(JSON.parse(await readFile(join(REPO, 'tsconfig.build.json'), 'utf8')));
    // src/cli/main.ts compiles to dist/cli/main.js.
    expect(config.compilerOptions).toEqual({ rootDir: 'src', outDir: 'dist' });
    await readFile(join(REPO, 'src/cli/main.ts'));
  });

  it('loads no development dependency at run time (npm prune --omit=dev removes them)', async () => {
    const pkg = z
      .object({
        dependencies: z.record(z.string(), z.string()),
        devDependencies: z.record(z.string(), z.string()),
      })
      .parse(JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')));
    const builtins = new Set(builtinModules);
    const offenders: string[] = [];
    const seen = new Set<string>();
    const walk = async (dir: string): Promise<string[]> => {
      const entries = await readdir(dir, { withFileTypes: true });
      const files = await Promise.all(
        entries.map((e) =>
          e.isDirectory() ? walk(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]),
        ),
      );
      return files.flat();
    };
    const sources = (await walk(join(REPO, 'src'))).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    );
    for (const file of sources) {
      const text = await readFile(file, 'utf8');
      const specifiers = [
        ...[...text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)].map(
          (m) => m[1] ?? '',
        ),
        ...[...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? ''),
      ];
      for (const specifier of specifiers) {
        if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
        const name = specifier.startsWith('@')
          ? specifier.split('/').slice(0, 2).join('/')
          : specifier.split('/')[0];
        if (name) seen.add(name);
        if (!name || !(name in pkg.dependencies))
          offenders.push(`${relative(REPO, file)} imports ${specifier}`);
      }
    }
    expect(sources.length).toBeGreaterThan(50);
    expect([...seen]).toEqual(expect.arrayContaining(['zod', '@kubernetes/client-node', 'xstate', 'pino']));
    expect(offenders).toEqual([]);
  });
});

describe('.dockerignore', () => {
  it('sends what the Dockerfile copies and nothing else', () => {
    for (const path of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src/cli/main.ts',
      'bin/sluice.js',
      'crds/sluice.dev_canaries.yaml',
    ])
      expect(ignored(ignorePatterns, path), path).toBe(false);
    for (const path of [
      'node_modules/zod/package.json',
      'dist/cli/main.js',
      '.git/HEAD',
      '.sluice/dev/kubeconfig',
      'test/deploy/dockerfile.test.ts',
      'src/cli/render.test.ts',
      'docs/install.md',
      'deploy/chart/values.yaml',
    ])
      expect(ignored(ignorePatterns, path), path).toBe(true);
  });
});
