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
    },
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
