import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard's front end, bundled at build time into dist/web (shipped in the npm
// package and the image): no CDN, nothing fetched at run time.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 200,
  },
});
