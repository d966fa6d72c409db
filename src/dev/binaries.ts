import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cacheRoot, binDir, VERSIONS } from './versions.ts';
import type { Progress } from './progress.ts';

export interface Binaries {
  dir: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  etcd: string;
  kwok: string;
  prometheus: string;
}

export function binaryPaths(dir = binDir()): Binaries {
  return {
    dir,
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    kubeScheduler: join(dir, 'kube-scheduler'),
    etcd: join(dir, 'etcd'),
    kwok: join(dir, 'kwok'),
    prometheus: join(dir, 'prometheus'),
  };
}

export const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Go's environment for the harness only: static binaries, the local toolchain, modules on demand. */
function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Go's own installer puts it in /usr/local/go; find it there when PATH does not.
    PATH: `${process.env.PATH ?? ''}:/usr/local/go/bin`,
    CGO_ENABLED: '0',
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-mod=mod',
    GO111MODULE: 'on',
  };
}

/** Runs a command, feeding each output line to `onLine`; rejects with the output tail on failure. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = options.env ?? process.env;
    // Resolve the command on the PATH of the environment it runs in (goEnv adds Go's default home).
    const child = spawn(command, args, { cwd: options.cwd, env });
    let output = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      if (output.length > 200_000) output = output.slice(-100_000);
      if (options.onLine) for (const line of text.split('\n')) if (line.trim()) options.onLine(line);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new Error(
              `${command} was not found on PATH. ${command === 'go' ? 'Go >= 1.24 is needed to build the local control plane (https://go.dev/dl).' : ''}`,
            )
          : error,
      );
    });
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${output.slice(-4000)}`));
    });
  });
}

/** `go mod download -json` → the module's directory in the module cache. */
export async function goModuleDir(module: string, version: string): Promise<string> {
  const scratch = join(cacheRoot(), 'scratch');
  await mkdir(scratch, { recursive: true });
  const out = await run('go', ['mod', 'download', '-json', `${module}@${version}`], {
    cwd: scratch,
    env: goEnv(),
  });
  const info = JSON.parse(out) as { Dir?: string; GoMod?: string; Error?: string };
  if (info.Error || !info.Dir)
    throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no Dir'}`);
  return info.Dir;
}

async function goModFile(module: string, version: string): Promise<string> {
  const scratch = join(cacheRoot(), 'scratch');
  await mkdir(scratch, { recursive: true });
  const out = await run('go', ['mod', 'download', '-json', `${module}@${version}`], {
    cwd: scratch,
    env: goEnv(),
  });
  const info = JSON.parse(out) as { GoMod?: string; Error?: string };
  if (info.Error || !info.GoMod)
    throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no GoMod'}`);
  return info.GoMod;
}

/**
 * k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local
 * paths, so `go install` cannot build it. A wrapper module replaces each staging module
 * with its published v0.Y.Z tag (kubernetes/kubernetes#79384).
 */
export async function kubernetesWrapperGoMod(version: string): Promise<string> {
  const upstream = await readFile(await goModFile('k8s.io/kubernetes', version), 'utf8');
  const staging = [...upstream.matchAll(/^\s+(k8s\.io\/[a-z0-9-]+) v0\.0\.0$/gm)].map((m) => m[1] as string);
  if (staging.length < 20)
    throw new Error(`found only ${staging.length} staging modules in k8s.io/kubernetes ${version}`);
  const stagingVersion = version.replace(/^v1\./, 'v0.');
  return [
    'module sluice.dev/harness/kubernetes',
    '',
    'go 1.24',
    '',
    `require k8s.io/kubernetes ${version}`,
    '',
    ...staging.map((m) => `replace ${m} => ${m} ${stagingVersion}`),
    '',
  ].join('\n');
}

function kubernetesLdflags(version: string): string {
  const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(version) ?? [];
  const flags = ['-s', '-w'];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(
      `-X ${pkg}.gitVersion=${version}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.gitCommit=0000000000000000000000000000000000000000`,
      `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
    );
  }
  return flags.join(' ');
}

async function goBuild(
  moduleDir: string,
  pkg: string,
  output: string,
  extra: { tags?: string; ldflags?: string },
  update: (detail: string) => void,
): Promise<void> {
  let compiled = 0;
  const partial = `${output}.partial-${process.pid}`;
  const args = ['build', '-v', '-trimpath', '-o', partial, '-ldflags', extra.ldflags ?? '-s -w'];
  if (extra.tags) args.push('-tags', extra.tags);
  args.push(pkg);
  await run('go', args, {
    cwd: moduleDir,
    env: goEnv(),
    onLine: (line) => {
      if (!line.startsWith('go: ')) compiled += 1;
      update(`${compiled} packages compiled`);
    },
  });
  await rename(partial, output);
}

async function writeModule(name: string, goMod: string, imports: string[]): Promise<string> {
  const dir = join(cacheRoot(), 'modules', name);
  await mkdir(dir, { recursive: true });
  // go.mod is rewritten by `-mod=mod` builds; compare against what we asked for instead.
  const wanted = await readFile(join(dir, 'go.mod.wanted'), 'utf8').catch(() => '');
  if (wanted !== goMod) {
    await writeFile(join(dir, 'go.mod'), goMod);
    await writeFile(join(dir, 'go.mod.wanted'), goMod);
    await rm(join(dir, 'go.sum'), { force: true });
  }
  await writeFile(
    join(dir, 'tools.go'),
    `//go:build tools\n\npackage tools\n\nimport (\n${imports.map((i) => `\t_ "${i}"\n`).join('')})\n`,
  );
  return dir;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A Debian package pinned by URL and sha256, from which one file is taken. */
export interface DebianFile {
  name: string;
  version: string;
  url: string;
  sha256: string;
  /** The file's path inside the package, e.g. usr/bin/prometheus. */
  path: string;
}

/** Downloads a pinned Debian package (checked by sha256) and unpacks one file from it; no root needed. */
export async function fetchDebianFile(
  file: DebianFile,
  target: string,
  update: (detail: string) => void,
): Promise<void> {
  const work = join(cacheRoot(), 'downloads');
  await mkdir(work, { recursive: true });
  const deb = join(work, `${file.name}_${file.version}.deb`);
  if (!(await exists(deb)) || (await sha256(deb)) !== file.sha256) {
    update('downloading');
    const response = await fetch(file.url);
    if (!response.ok) throw new Error(`downloading ${file.name} from ${file.url}: HTTP ${response.status}`);
    await writeFile(`${deb}.partial`, Buffer.from(await response.arrayBuffer()));
    const actual = await sha256(`${deb}.partial`);
    if (actual !== file.sha256)
      throw new Error(`${file.name} package checksum mismatch: got ${actual}, expected ${file.sha256}`);
    await rename(`${deb}.partial`, deb);
  }
  update('unpacking');
  const unpacked = join(work, `${file.name}_${file.version}.${process.pid}`);
  await rm(unpacked, { recursive: true, force: true });
  await run('dpkg-deb', ['-x', deb, unpacked]);
  await mkdir(dirname(target), { recursive: true });
  await rename(join(unpacked, file.path), target);
  await chmod(target, 0o755);
  await rm(unpacked, { recursive: true, force: true });
}

function fetchPrometheus(target: string, update: (detail: string) => void): Promise<void> {
  return fetchDebianFile(
    { name: 'prometheus', path: 'usr/bin/prometheus', ...VERSIONS.prometheus },
    target,
    update,
  );
}

/**
 * Serialises builds across processes (two test runs starting at once build once): a
 * directory lock in `dir`; a lock whose owner died is taken over.
 */
export async function withLock<T>(name: string, work: () => Promise<T>, dir = cacheRoot()): Promise<T> {
  const lock = join(dir, `${name}.lock`);
  await mkdir(dir, { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      const pid = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => '0'));
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      let alive = pid > 0;
      if (alive) {
        try {
          process.kill(pid, 0);
        } catch {
          alive = false;
        }
      }
      if (!alive && age > 2000) await rm(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** Builds (once) and returns the pinned binaries; later calls find them in the cache. */
export async function ensureBinaries(progress: Progress): Promise<Binaries> {
  const bins = binaryPaths();
  const missing = async () => {
    const all = [
      bins.kubeApiserver,
      bins.kubeControllerManager,
      bins.kubeScheduler,
      bins.etcd,
      bins.kwok,
      bins.prometheus,
    ];
    const present = await Promise.all(all.map(exists));
    return all.filter((_, i) => !present[i]);
  };
  if ((await missing()).length === 0) return bins;

  return withLock('build', async () => {
    await mkdir(bins.dir, { recursive: true });
    if (!(await exists(bins.prometheus))) {
      await progress.step(`Prometheus ${VERSIONS.prometheus.version} (Debian package)`, (update) =>
        fetchPrometheus(bins.prometheus, update),
      );
    }
    if (!(await exists(bins.etcd))) {
      await progress.step(`building etcd ${VERSIONS.etcd} (first run only)`, async (update) => {
        const dir = await writeModule(
          'etcd',
          `module sluice.dev/harness/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 ${VERSIONS.etcd}\n`,
          ['go.etcd.io/etcd/server/v3'],
        );
        await goBuild(dir, 'go.etcd.io/etcd/server/v3', bins.etcd, {}, update);
      });
    }
    if (!(await exists(bins.kwok))) {
      await progress.step(`building kwok ${VERSIONS.kwok} (first run only)`, async (update) => {
        const dir = await writeModule(
          'kwok',
          `module sluice.dev/harness/kwok\n\ngo 1.24\n\nrequire sigs.k8s.io/kwok ${VERSIONS.kwok}\n`,
          ['sigs.k8s.io/kwok/cmd/kwok'],
        );
        await goBuild(dir, 'sigs.k8s.io/kwok/cmd/kwok', bins.kwok, {}, update);
      });
    }
    const k8s = [
      ['kube-apiserver', bins.kubeApiserver],
      ['kube-controller-manager', bins.kubeControllerManager],
      ['kube-scheduler', bins.kubeScheduler],
    ] as const;
    if (!(await Promise.all(k8s.map(([, path]) => exists(path)))).every(Boolean)) {
      const dir = await progress.step(
        `preparing the Kubernetes ${VERSIONS.kubernetes} wrapper module`,
        async () =>
          writeModule(
            'kubernetes',
            await kubernetesWrapperGoMod(VERSIONS.kubernetes),
            k8s.map(([name]) => `k8s.io/kubernetes/cmd/${name}`),
          ),
      );
      for (const [name, path] of k8s) {
        if (await exists(path)) continue;
        await progress.step(
          `building ${name} ${VERSIONS.kubernetes} (first run only, a few minutes)`,
          (update) =>
            goBuild(
              dir,
              `k8s.io/kubernetes/cmd/${name}`,
              path,
              { tags: 'selinux,notest,grpcnotrace', ldflags: kubernetesLdflags(VERSIONS.kubernetes) },
              update,
            ),
        );
      }
    }
    const still = await missing();
    if (still.length) throw new Error(`binaries still missing after the build: ${still.join(', ')}`);
    return bins;
  });
}
