import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers (docs/development.md): api imports nothing of Sluice; the machine imports only
// api; nothing below the CLI imports the local stack (src/dev). Tests are exempt: they
// may use test/support and scripts/.
const layer = (files, patterns) => ({
  files,
  ignores: ['**/*.test.ts'],
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});
const NO_DEV = {
  regex: '^\\.\\.?/(?:.*/)?dev/',
  message: 'src/dev is development tooling: only src/cli loads it (lazily, see src/cli/dev-stack.ts).',
};

const GENERATED_CLIENTS = '/^(core|apps|autoscaling|networking|custom|coordination|events)$/';
const GENERATED_MESSAGE =
  'Use kube.wire (src/kube/wire.ts: readResource, createResource, mergePatchResource, …): the generated API clients load all of client-node (decision 0029-client-node-subset).';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.sluice/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The package root loads every generated API class and model (about 60 MB at start-up):
    // values come from src/kube/library.ts (decision 0029-client-node-subset); types may stay.
    files: ['src/**/*.ts'],
    ignores: ['**/*.test.ts', 'src/dev/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              allowTypeImports: true,
              message:
                'Import values from src/kube/library.ts: the package root loads all of client-node at start-up.',
            },
          ],
        },
      ],
      // The generated clients on Kube load the whole library at their first use (about 27 MB
      // for the rest of the process): run-time calls go through kube.wire (WireObjectApi).
      'no-restricted-syntax': [
        'error',
        {
          selector: `MemberExpression[property.name=${GENERATED_CLIENTS}]:matches([object.name='kube'], [object.property.name='kube'])`,
          message: GENERATED_MESSAGE,
        },
        {
          selector: "CallExpression[callee.name='wholeLibrary']",
          message: GENERATED_MESSAGE,
        },
      ],
    },
  },
  {
    // Where the generated clients are made, on demand.
    files: ['src/kube/client.ts', 'src/kube/library.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    ...layer(['src/**/*.ts'], [NO_DEV]),
    ignores: ['**/*.test.ts', 'src/cli/**', 'src/dev/**'],
  },
  layer(
    ['src/machine/**/*.ts'],
    [
      {
        regex: '^\\.\\./(?!api/)',
        message: 'The machine is pure: it imports only src/api (and packages), never I/O code.',
      },
    ],
  ),
  layer(
    ['src/api/**/*.ts'],
    [{ regex: '^\\.\\./', message: 'src/api is the bottom layer: it imports nothing else of Sluice.' }],
  ),
);
