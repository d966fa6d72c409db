import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Pinned versions of everything the local control plane runs. Changing one changes the
 * cache key, so the next `sluice dev up` rebuilds what changed.
 */
export const VERSIONS = {
  kubernetes: 'v1.36.3',
  etcd: 'v3.6.16',
  kwok: 'v0.8.0',
  /** Debian bookworm's package, fetched from the archive and unpacked (no root needed). */
  prometheus: {
    version: '2.42.0+ds-5+b6',
    url: 'http://deb.debian.org/debian/pool/main/p/prometheus/prometheus_2.42.0+ds-5+b6_amd64.deb',
    sha256: '3b0e0255b059a7696bd4a139a4a4eb24d71df067936a61ece5093559cbc7991c',
  },
  /** Debian bookworm's InfluxDB (1.6: InfluxQL only, no Flux), for the influxdb provider's tests. */
  influxdb: {
    version: '1.6.7~rc0-1+b13',
    url: 'http://deb.debian.org/debian/pool/main/i/influxdb/influxdb_1.6.7~rc0-1+b13_amd64.deb',
    sha256: 'fcfddf7937befd82264359feaeb2f46a79f9574656ee0981eb19dcc5a153f55c',
  },
  istioApi: 'v1.31.1',
  gatewayApi: 'v1.6.3',
  /** Upstream routing CRDs of the providers whose Go modules the module proxy serves. */
  contour: 'v1.33.8',
  traefik: 'v3.7.13',
  knativeServing: 'v0.51.0',
} as const;

/** Where built binaries live: outside the repository, shared by every clone. */
export function cacheRoot(): string {
  return (
    process.env.SLUICE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice')
  );
}

export function binDir(): string {
  const key = `k8s-${VERSIONS.kubernetes}_etcd-${VERSIONS.etcd}_kwok-${VERSIONS.kwok}_prom-${VERSIONS.prometheus.version}`;
  return join(cacheRoot(), key.replaceAll('+', '_'), 'bin');
}
