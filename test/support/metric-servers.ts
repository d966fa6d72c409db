import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exists, fetchDebianFile, withLock } from '../../src/dev/binaries.ts';
import { freePort, logTail, startDetached, stopAll, waitFor } from '../../src/dev/process.ts';
import { consoleProgress, type Progress } from '../../src/dev/progress.ts';
import { VERSIONS, cacheRoot } from '../../src/dev/versions.ts';

// Real metrics servers from Debian's packages for the provider tests, installed by the
// suite itself on a fresh machine and started on loopback in a directory of their own:
// - InfluxDB: bookworm's influxd (a static Go binary), fetched from the archive pinned by
//   sha256 and unpacked without root, as the harness does for Prometheus;
// - Graphite: graphite-carbon + graphite-web (Python, with Django and their other
//   dependencies), installed with apt-get when missing (root, as on CI), progress shown.

export interface RunningServer {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

const progress: Progress = consoleProgress();

export async function ensureInfluxd(): Promise<string> {
  const binary = join(cacheRoot(), `influxdb_${VERSIONS.influxdb.version.replaceAll('~', '_')}`, 'influxd');
  if (await exists(binary)) return binary;
  await withLock('influxdb', async () => {
    if (await exists(binary)) return;
    await progress.step(`InfluxDB ${VERSIONS.influxdb.version} (Debian package)`, (update) =>
      fetchDebianFile({ name: 'influxdb', path: 'usr/bin/influxd', ...VERSIONS.influxdb }, binary, update),
    );
  });
  return binary;
}

const httpOk = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (response) => response.ok,
    () => false,
  );

/** influxd on loopback with authentication on and an admin user; the caller stops it. */
export async function startInfluxd(admin: { username: string; password: string }): Promise<RunningServer> {
  const binary = await ensureInfluxd();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-influxdb-'));
  const [http, rpc] = [await freePort(), await freePort()];
  const config = join(dir, 'influxdb.conf');
  await writeFile(
    config,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpc}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${http}"`,
      '  auth-enabled = true',
      '  log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
      '',
    ].join('\n'),
  );
  const log = join(dir, 'influxd.log');
  const pid = startDetached(binary, ['-config', config], log);
  const url = `http://127.0.0.1:${http}`;
  const stop = async () => {
    await stopAll([pid], 5000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('influxd', () => httpOk(`${url}/ping`), {
      timeoutMs: 30_000,
      pid,
      describe: () => logTail(log),
    });
    // With no user yet, InfluxDB 1.x takes exactly this one statement without credentials.
    const created = await fetch(`${url}/query`, {
      method: 'POST',
      body: new URLSearchParams({
        q: `CREATE USER "${admin.username}" WITH PASSWORD '${admin.password}' WITH ALL PRIVILEGES`,
      }),
    });
    if (!created.ok)
      throw new Error(`influxd: creating the admin user: HTTP ${created.status} ${await created.text()}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, dir, stop };
}

const GRAPHITE_PACKAGES = ['graphite-carbon', 'graphite-web'];
// Debian's own Python: Django and graphite-web are installed for it, not for another python3 on PATH.
const PYTHON = '/usr/bin/python3';

function runLogged(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  update: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) update(line.trim().slice(0, 120));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${tail}`)),
    );
  });
}

/** graphite-carbon and graphite-web from Debian, installed with apt-get when missing. */
export async function ensureGraphite(): Promise<void> {
  const installed = async () =>
    (await exists('/usr/bin/carbon-cache')) &&
    (await exists('/usr/lib/python3/dist-packages/graphite/settings.py'));
  if (await installed()) return;
  await withLock('graphite-apt', async () => {
    if (await installed()) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await progress.step(
      `installing ${GRAPHITE_PACKAGES.join(' and ')} (apt-get, first run only)`,
      async (update) => {
        await runLogged('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update'], env, update);
        await runLogged(
          'apt-get',
          ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', ...GRAPHITE_PACKAGES],
          env,
          update,
        );
      },
    );
  });
}

/** carbon-cache (plaintext receiver) and graphite-web (Django's server) on loopback. */
export async function startGraphite(): Promise<RunningServer & { send(lines: string[]): Promise<void> }> {
  await ensureGraphite();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-graphite-'));
  const [line, pickle, cacheQuery, web] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const storage = join(dir, 'storage');
  for (const sub of ['conf', 'storage/whisper', 'log', 'run'])
    await mkdir(join(dir, sub), { recursive: true });
  await writeFile(
    join(dir, 'conf', 'carbon.conf'),
    [
      '[cache]',
      `STORAGE_DIR = ${storage}/`,
      `LOCAL_DATA_DIR = ${storage}/whisper/`,
      `WHITELISTS_DIR = ${storage}/lists/`,
      `CONF_DIR = ${dir}/conf/`,
      `LOG_DIR = ${dir}/log/`,
      `PID_DIR = ${dir}/run/`,
      'ENABLE_LOGROTATION = False',
      'ENABLE_TAGS = False',
      'MAX_CACHE_SIZE = inf',
      'MAX_UPDATES_PER_SECOND = 10000',
      'MAX_CREATES_PER_MINUTE = inf',
      'LINE_RECEIVER_INTERFACE = 127.0.0.1',
      `LINE_RECEIVER_PORT = ${line}`,
      'ENABLE_UDP_LISTENER = False',
      'PICKLE_RECEIVER_INTERFACE = 127.0.0.1',
      `PICKLE_RECEIVER_PORT = ${pickle}`,
      'CACHE_QUERY_INTERFACE = 127.0.0.1',
      `CACHE_QUERY_PORT = ${cacheQuery}`,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'conf', 'storage-schemas.conf'),
    '[default]\npattern = .*\nretentions = 10s:1d\n',
  );
  await writeFile(
    join(dir, 'sluice_graphite_settings.py'),
    [
      "# graphite-web settings for one test: Debian's, pointed at this directory.",
      'from graphite.settings import *  # noqa: F401,F403',
      `STORAGE_DIR = '${storage}/'`,
      `WHISPER_DIR = '${storage}/whisper/'`,
      'STANDARD_DIRS = [WHISPER_DIR]',
      `LOG_DIR = '${dir}/log/'`,
      `INDEX_FILE = '${storage}/index'`,
      `DATABASES = {'default': {'NAME': '${dir}/graphite.db', 'ENGINE': 'django.db.backends.sqlite3'}}`,
      `CARBONLINK_HOSTS = ['127.0.0.1:${cacheQuery}']`,
      "SECRET_KEY = 'sluice-test'",
      "ALLOWED_HOSTS = ['127.0.0.1']",
      '',
    ].join('\n'),
  );
  const carbonLog = join(dir, 'carbon.log');
  const webLog = join(dir, 'graphite-web.log');
  const pids = [
    startDetached(
      '/usr/bin/carbon-cache',
      [`--config=${dir}/conf/carbon.conf`, `--pidfile=${dir}/run/carbon.pid`, '--nodaemon', 'start'],
      carbonLog,
    ),
    startDetached(PYTHON, ['-m', 'django', 'runserver', `127.0.0.1:${web}`, '--noreload'], webLog, {
      ...process.env,
      DJANGO_SETTINGS_MODULE: 'sluice_graphite_settings',
      PYTHONPATH: dir,
    }),
  ];
  const url = `http://127.0.0.1:${web}`;
  const stop = async () => {
    await stopAll(pids, 5000);
    await rm(dir, { recursive: true, force: true });
  };
  const tcpOpen = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('connect', () => resolve(socket.end() !== undefined));
      socket.on('error', () => resolve(false));
    });
  try {
    await waitFor('carbon-cache', () => tcpOpen(line), {
      timeoutMs: 60_000,
      pid: pids[0],
      describe: () => logTail(carbonLog),
    });
    await waitFor('graphite-web', () => httpOk(`${url}/render?target=none&format=json`), {
      timeoutMs: 60_000,
      pid: pids[1],
      describe: () => logTail(webLog),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    dir,
    stop,
    /** Sends plaintext protocol lines (`path value timestamp`) to carbon. */
    send: (lines) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(line, '127.0.0.1', () => socket.end(`${lines.join('\n')}\n`));
        socket.on('close', () => resolve());
        socket.on('error', reject);
      }),
  };
}
