// Writes crds/*.yaml from the zod schemas in src/api; with --check, fails when the
// checked-in files differ from what would be generated (CI runs `npm run check:crds`).
import { readFile, readdir, writeFile } from 'node:fs/promises';
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

const outputs = renderCrds().map(({ file, text }) => ({ path: join(root, 'crds', file), text }));
const docsPath = join(root, 'docs', 'api.md');
outputs.push({ path: docsPath, text: renderApiDocs(await readOrEmpty(docsPath)) });

const stale: string[] = [];
const written: string[] = [];
for (const { path, text } of outputs) {
  if ((await readOrEmpty(path)) === text) continue;
  if (check) stale.push(path);
  else {
    await writeFile(path, text);
    written.push(path.slice(root.length + 1));
  }
}

// A CRD file whose kind no longer exists is stale too.
const expected = new Set(outputs.map(({ path }) => path));
for (const file of await readdir(join(root, 'crds'))) {
  const path = join(root, 'crds', file);
  if (file.endsWith('.yaml') && !expected.has(path)) stale.push(`${path} (no longer generated; delete it)`);
}

if (stale.length > 0) {
  console.error(`Generated files are out of date; run npm run gen:crds:\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
if (!check)
  console.log(written.length > 0 ? `wrote ${written.join(', ')}` : 'generated files are up to date');
