import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { goModuleDir, run } from '../src/dev/binaries.ts';
import type { Progress } from '../src/dev/progress.ts';
import { cacheRoot } from '../src/dev/versions.ts';

// Flagger is a benchmark peer only: built from its Go module into the harness cache, its
// CRDs read from the same module directory. Nothing of it is committed or shipped.

/**
 * The newest Flagger the Go module proxy serves (`go list -m -versions
 * github.com/fluxcd/flagger` lists only v1.36.1: later releases are not published as
 * module versions there).
 */
export const FLAGGER_VERSION = 'v1.36.1';
export const FLAGGER_MODULE = 'github.com/fluxcd/flagger';

export interface FlaggerBuild {
  binary: string;
  /** artifacts/flagger/crd.yaml in the module: Canary, MetricTemplate, AlertProvider (flagger.app). */
  crds: string;
  version: string;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

function goEnv(gobin: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${process.env.PATH ?? ''}:/usr/local/go/bin`,
    CGO_ENABLED: '0',
    GOTOOLCHAIN: 'local',
    GOBIN: gobin,
  };
}

/** Builds Flagger once (`go install …/cmd/flagger@version` into the cache) and finds its CRDs. */
export async function ensureFlagger(progress: Progress, version = FLAGGER_VERSION): Promise<FlaggerBuild> {
  const dir = join(cacheRoot(), `flagger-${version}`);
  const binary = join(dir, 'flagger');
  const moduleDir = await progress.step(`Flagger ${version} module`, () =>
    goModuleDir(FLAGGER_MODULE, version),
  );
  if (!(await exists(binary))) {
    // go install writes GOBIN/flagger; build into a scratch GOBIN, then move it in one step.
    const scratch = join(dir, `.build-${process.pid}`);
    await mkdir(scratch, { recursive: true });
    try {
      await progress.step(`building Flagger ${version} (first run only, a few minutes)`, async (update) => {
        let compiled = 0;
        await run(
          'go',
          ['install', '-v', '-trimpath', '-ldflags', '-s -w', `${FLAGGER_MODULE}/cmd/flagger@${version}`],
          {
            cwd: scratch,
            env: goEnv(scratch),
            onLine: (line) => {
              if (!line.startsWith('go: ')) compiled += 1;
              update(`${compiled} packages compiled`);
            },
          },
        );
      });
      await rename(join(scratch, 'flagger'), binary);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  return { binary, crds: join(moduleDir, 'artifacts', 'flagger', 'crd.yaml'), version };
}

/**
 * Flagger's crd.yaml continues some single-quoted descriptions on lines indented no deeper
 * than their key. Go's YAML reader accepts that; YAML 1.2 (and the `yaml` package) reads
 * the continuation as new keys. This indents such continuation lines under their key.
 */
export function indentQuotedContinuations(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let open: { indent: string } | undefined;
  // In a single-quoted scalar '' is an escaped quote: an odd count of quotes toggles the state.
  const quotes = (s: string) => (s.match(/'/g) ?? []).length;
  for (const line of lines) {
    if (open) {
      out.push(`${open.indent}  ${line.trimStart()}`);
      if (quotes(line) % 2 === 1) open = undefined;
      continue;
    }
    out.push(line);
    const match = /^(\s*)(?:- )?[\w.-]+: '(.*)$/.exec(line);
    if (match && quotes(match[2] as string) % 2 === 0) open = { indent: match[1] as string };
  }
  return out.join('\n');
}
