import { registerHooks } from 'node:module';

// Registered by bin/sluice.js before the CLI loads. @kubernetes/client-node's kubeconfig
// loader (dist/config.js) imports `createConfiguration` and `ServerConfiguration` from its
// generated index, and its generic object client (dist/object.js) `ApiException` and
// `HttpMethod` through dist/api.js; either import loads every generated API class and
// model. These two imports are pointed at src/kube/client-subset.ts, which exports the
// same bindings from the files that define them. Anything that imports the package's root
// still gets the whole library (src/kube/library.ts: wholeLibrary()), with the same classes.

const SUBSET = new URL(`./client-subset${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)
  .href;
const PACKAGE_DIST = '/@kubernetes/client-node/dist/';

/** The imports redirected: importing file (under the package's dist/) → its specifier. */
const REDIRECTED: Record<string, string> = {
  'config.js': './gen/index.js',
  'object.js': './api.js',
};

export function redirectedTo(specifier: string, parentUrl: string | undefined): string | undefined {
  if (!parentUrl) return undefined;
  const at = parentUrl.lastIndexOf(PACKAGE_DIST);
  if (at < 0) return undefined;
  return REDIRECTED[parentUrl.slice(at + PACKAGE_DIST.length)] === specifier ? SUBSET : undefined;
}

registerHooks({
  resolve(specifier, context, next) {
    const url = redirectedTo(specifier, context.parentURL);
    return url ? { url, shortCircuit: true } : next(specifier, context);
  },
});
