import { inject } from 'vitest';

/** What the integration global setup hands every test file (see global-setup.ts). */
export interface SluiceTestEnv {
  /** Admin kubeconfig (system:masters) of the shared control plane. */
  kubeconfig: string;
  /** Base URL of the real Prometheus server, e.g. http://127.0.0.1:39090 */
  prometheusUrl: string;
  /** Directory of Prometheus file_sd target files (`*.json`), read every second. */
  prometheusTargetsDir: string;
  /** The harness state directory (certificates, logs of every process). */
  stateDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    sluiceEnv: SluiceTestEnv;
  }
}

export function testEnv(): SluiceTestEnv {
  return inject('sluiceEnv');
}
