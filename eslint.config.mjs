import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'fs',
  'path',
  'crypto',
  'os',
  'child_process',
  'http',
  'https',
  'net',
  'url',
  'util',
  'stream',
  'events',
  'worker_threads',
  'timers',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bin/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code must stay deterministic: no Node built-ins, no ambient clocks or randomness.
    files: [
      'src/workflows/**/*.ts',
      'src/policies/**/*.ts',
      'src/audit/chain.ts',
      'src/audit/sha256.ts',
      'src/audit/canonicalJson.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: nodeBuiltins.flatMap((m) => [m, `node:${m}`]), patterns: ['node:*'] },
      ],
    },
  },
);
