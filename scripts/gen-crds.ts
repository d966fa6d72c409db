// Writes crds/*.yaml from the zod schemas in src/api; with --check, fails when the
// checked-in files differ from what would be generated (CI runs `npm run check:crds`).
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCrds } from '../src/api/crd.ts';
import { renderApiDocs } from '../src/api/reference.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

// The kustomize base and the Helm chart ship the same CRDs: kustomize cannot read files
// outside its root and a chart takes CRDs only from its own crds/ folder, so both get copies.
const crdDirs = ['crds', 'deploy/base/crds', 'deploy/chart/crds'];
const outputs = renderCrds().flatMap(({ file, text }) =>
  crdDirs.map((dir) => ({ path: join(root, dir, file), text })),
);
const docsPath = join(root, 'docs', 'api.md');
outputs.push({ path: docsPath, text: renderApiDocs(await readOrEmpty(docsPath)) });

const stale: string[] = [];
const written: string[] = [];
for (const { path, text } of outputs) {
  if ((await readOrEmpty(path)) === text) continue;
  if (check) stale.push(path);
  else {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    written.push(path.slice(root.length + 1));
  }
}

// A CRD file whose kind no longer exists is stale too.
const expected = new Set(outputs.map(({ path }) => path));
for (const dir of crdDirs) {
  for (const file of await readdir(join(root, dir)).catch(() => [] as string[])) {
    const path = join(root, dir, file);
    if (file.endsWith('.yaml') && !expected.has(path)) stale.push(`${path} (no longer generated; delete it)`);
  }
}

if (stale.length > 0) {
  console.error(`Generated files are out of date; run npm run gen:crds:\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
if (!check)
  console.log(written.length > 0 ? `wrote ${written.join(', ')}` : 'generated files are up to date');
