import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exists, run, withLock } from '../../src/dev/binaries.ts';
import type { Progress } from '../../src/dev/progress.ts';
import { cacheRoot } from '../../src/dev/versions.ts';

// Packaging tools the deploy tests render with: kustomize v5 and Helm 3, built from their
// pinned Go modules like the control plane is (Debian's kubectl carries a kustomize from
// 2020, and Helm is not packaged), cached outside the repository and built once.

interface GoTool {
  /** The module `go install` fetches, at `version`. */
  pkg: string;
  version: string;
  ldflags: string;
}

export const TOOLS = {
  kustomize: {
    pkg: 'sigs.k8s.io/kustomize/kustomize/v5',
    // v5.8.2 and later need Go 1.26+ only for their own go.mod; 5.8.1 renders the same.
    version: 'v5.8.1',
    ldflags: '-s -w -X sigs.k8s.io/kustomize/api/provenance.version=v5.8.1',
  },
  helm: {
    pkg: 'helm.sh/helm/v3/cmd/helm',
    version: 'v3.21.4',
    // Helm's release build stamps its version and the Kubernetes version `helm template`
    // assumes (Capabilities.KubeVersion); a plain `go install` would claim 1.20.
    ldflags: [
      '-s -w',
      '-X helm.sh/helm/v3/internal/version.version=v3.21.4',
      '-X helm.sh/helm/v3/internal/version.gitTreeState=clean',
      '-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1',
      '-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=36',
      '-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1',
      '-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=36',
    ].join(' '),
  },
} as const satisfies Record<string, GoTool>;

export type ToolName = keyof typeof TOOLS;

/** Where a tool's binary lives: the version is in the path, so a new pin builds afresh. */
export function toolPath(name: ToolName): string {
  return join(cacheRoot(), 'tools', `${name}-${TOOLS[name].version}`, name);
}

function goEnv(gobin: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${process.env.PATH ?? ''}:/usr/local/go/bin`,
    GOBIN: gobin,
    CGO_ENABLED: '0',
    GOTOOLCHAIN: 'local',
    GO111MODULE: 'on',
  };
}

/**
 * The path of a packaging tool, built with `go install <module>@<version>` on first use
 * (kustomize in well under a minute, Helm in a few minutes on two cores) and cached in
 * ~/.cache/sluice/tools/.
 */
export async function ensureTool(name: ToolName, progress: Progress): Promise<string> {
  const path = toolPath(name);
  if (await exists(path)) return path;
  return withLock(
    name,
    async () => {
      if (await exists(path)) return path;
      const tool = TOOLS[name];
      const staging = join(cacheRoot(), 'tools', `.build-${name}-${process.pid}`);
      await rm(staging, { recursive: true, force: true });
      await mkdir(staging, { recursive: true });
      try {
        await progress.step(`building ${name} ${tool.version} (first run only)`, async (update) => {
          let lines = 0;
          await run(
            'go',
            ['install', '-v', '-trimpath', '-ldflags', tool.ldflags, `${tool.pkg}@${tool.version}`],
            {
              cwd: staging,
              env: goEnv(staging),
              onLine: (line) => {
                lines += 1;
                update(line.startsWith('go: downloading') ? line.slice(4) : `${lines} packages`);
              },
            },
          );
        });
        await mkdir(join(path, '..'), { recursive: true });
        await rename(join(staging, name), path);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
      return path;
    },
    join(cacheRoot(), 'tools'),
  );
}
