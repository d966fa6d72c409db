// Fills the generated parts of the docs from the lists in the code: the provider × routing
// feature matrix and the provider strings (docs/routing.md, from src/routers/capabilities.ts
// and src/api/providers.ts), and the AlertProvider types (docs/api.md, from
// src/api/alert-provider.ts). With --check, fails when a checked-in file differs
// (`npm run check` runs it, as it does for the CRDs and the state diagram).
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, getFileInfo, resolveConfig } from 'prettier';
import { ALERT_PROVIDERS, ALERT_PROVIDER_TYPES } from '../src/api/alert-provider.ts';
import {
  ROUTER_KINDS,
  ROUTER_PROVIDERS,
  UNROUTED_PROVIDERS,
  type RouterProviderInfo,
} from '../src/api/providers.ts';
import {
  ROUTER_SUPPORT,
  ROUTING_FEATURE_NAMES,
  ROUTING_FEATURES,
  type Support,
} from '../src/routers/capabilities.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const code = (text: string) => `\`${text}\``;

function cell(support: Support, note: (text: string) => string): string {
  switch (support.level) {
    case 'yes':
      return support.note ? `yes ${note(support.note)}` : 'yes';
    case 'partial':
      return `partial ${note(support.note)}`;
    case 'required':
      return 'required';
    case 'no':
      return 'no';
  }
}

/** Provider × feature, every cell from ROUTER_SUPPORT, with the partial ones explained below. */
export function routingMatrix(): string {
  const notes: string[] = [];
  const note = (text: string) => {
    const index = notes.indexOf(text) === -1 ? notes.push(text) : notes.indexOf(text) + 1;
    return `[${index}]`;
  };
  const header = `| Feature | Fields | ${ROUTER_KINDS.join(' | ')} |`;
  const rule = `| --- | --- | ${ROUTER_KINDS.map(() => '---').join(' | ')} |`;
  const rows = ROUTING_FEATURE_NAMES.map((feature) => {
    const info = ROUTING_FEATURES[feature];
    const cells = ROUTER_KINDS.map((kind) =>
      cell((ROUTER_SUPPORT[kind] as Record<string, Support>)[feature]!, note),
    );
    return `| ${info.title} | ${info.fields.map(code).join(', ')} | ${cells.join(' | ')} |`;
  });
  return [header, rule, ...rows, '', ...notes.map((text, i) => `[${i + 1}] ${text}.`)].join('\n');
}

/** The spec.provider strings of each router, and Flagger's that Sluice does not route. */
export function providerTable(): string {
  const rows = ROUTER_KINDS.map((kind) => {
    const info: RouterProviderInfo = ROUTER_PROVIDERS[kind];
    const when = info.selectedBy ? ` with ${code(info.selectedBy)}` : '';
    return `| ${info.spellings.map(code).join(', ')}${when} | ${info.object} |`;
  });
  const unrouted = Object.entries(UNROUTED_PROVIDERS).map(([name, why]) => `${code(name)} (${why})`);
  return [
    '| `spec.provider` | Router |',
    '| --- | --- |',
    ...rows,
    '',
    `\`smi:<version>\` may end in \`:<mesh>\` (\`smi:v1alpha3:osm\`); \`smi\`, \`linkerd\` (without \`spec.service.gatewayRefs\`) and \`osm\` mean v1alpha2.`,
    `Refused, naming the field: ${unrouted.join('; ')}.`,
  ].join('\n');
}

export function alertProviderList(): string {
  return ALERT_PROVIDER_TYPES.map((type) => `- ${code(type)}: ${ALERT_PROVIDERS[type].sends}`).join('\n');
}

const REGIONS: { file: string; name: string; render: () => string }[] = [
  { file: 'docs/routing.md', name: 'providers', render: providerTable },
  { file: 'docs/routing.md', name: 'routing-matrix', render: routingMatrix },
  { file: 'docs/api.md', name: 'alert-providers', render: alertProviderList },
];

/** Replaces the text between `<!-- generated:<name> … -->` and `<!-- /generated:<name> -->`. */
export function fill(text: string, name: string, body: string, file: string): string {
  const start = new RegExp(`<!-- generated:${name}[^>]*-->\\n`);
  const end = `<!-- /generated:${name} -->`;
  const match = start.exec(text);
  const stop = text.indexOf(end);
  if (!match || stop < match.index) throw new Error(`${file}: no generated region "${name}"`);
  const from = match.index + match[0].length;
  return `${text.slice(0, from)}\n${body}\n\n${text.slice(stop)}`;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const files = new Map<string, string>();
  for (const region of REGIONS) {
    const path = join(ROOT, region.file);
    const text = files.get(path) ?? (await readFile(path, 'utf8'));
    files.set(path, fill(text, region.name, region.render(), region.file));
  }
  // Formatted as `prettier --write` would leave it, so formatting never makes the check fail.
  for (const [path, text] of files) {
    const { ignored } = await getFileInfo(path, { ignorePath: join(ROOT, '.prettierignore') });
    if (!ignored) files.set(path, await format(text, { ...(await resolveConfig(path)), filepath: path }));
  }
  const stale: string[] = [];
  for (const [path, text] of files) {
    const current = await readFile(path, 'utf8');
    if (current === text) continue;
    if (check) stale.push(path.slice(ROOT.length + 1));
    else await writeFile(path, text);
  }
  if (stale.length) {
    console.error(`generated docs are stale: ${stale.join(', ')}; run npm run gen:docs`);
    process.exit(1);
  }
  if (!check) console.log(`wrote ${REGIONS.map((r) => `${r.file}#${r.name}`).join(', ')}`);
}

await main();
