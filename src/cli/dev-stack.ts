import { CliError } from './canaries.ts';

// The local stack (src/dev: control plane, runtime, traffic layer, demo) is development
// tooling. The CLI loads it only when `sluice dev` or `sluice demo` runs, so `sluice
// controller` never does, and the controller image leaves it out (see the Dockerfile).

/** The default state directory of `sluice dev`. */
export const DEFAULT_DEV_DIR = '.sluice/dev';

function isModuleNotFound(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && 'code' in error && error.code === 'ERR_MODULE_NOT_FOUND'
  );
}

/** Loads a module of the local stack; says what to do when this build does not include it. */
export async function loadDevStack<T>(load: () => Promise<T>, command: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    throw new CliError(
      `the local stack (sluice ${command}) is not part of this build: the controller image ships the controller and the load tester only; run it from the npm package: npx sluice ${command}`,
    );
  }
}
