import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));

/**
 * The layers of src/, top to bottom (DESIGN.md §3). A folder may import from its own layer's
 * folders and from below, never from above:
 *   interfaces (cli, api) → runtime → workflows, activities → the core (policies, audit, providers,
 *   weights, tools, agents, stores, config) → shared (and errors.ts).
 * Two exceptions keep workflow code deterministic: workflows import activities by type only, and
 * activities import the workflow contract by type only.
 */
const above = (...folders) => folders.map((f) => `**/${f}/**`).concat(folders.map((f) => `../${f}`));
function layer(files, forbidden, message, extra = []) {
  return {
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: above(...forbidden), message }, ...extra] },
      ],
    },
  };
}
const interfaces = ['cli', 'api'];
const core = ['policies', 'audit', 'providers', 'weights', 'tools', 'agents', 'stores', 'config'];

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
  layer(
    ['src/shared/**/*.ts'],
    [...interfaces, 'runtime', 'workflows', 'activities', ...core],
    'shared/ imports nothing of Steward',
  ),
  layer(
    core.map((f) => `src/${f}/**/*.ts`),
    [...interfaces, 'runtime', 'workflows', 'activities'],
    'the core does not import from workflows, activities, runtime or interfaces',
  ),
  layer(
    // the pure task resolver builds the spec the workflow runs under: it names that type, nothing else
    ['src/policies/taskSpec.ts'],
    [...interfaces, 'runtime', 'activities'],
    'the core does not import from workflows, activities, runtime or interfaces',
    [
      { group: ['../workflows/*', '!../workflows/contract'], message: 'the core imports only the contract' },
      { group: ['../workflows/contract'], allowTypeImports: true, message: 'the contract is a type here' },
    ],
  ),
  layer(['src/config/**/*.ts'], ['policies'], 'config does not import from policies'),
  layer(['src/runtime/**/*.ts'], interfaces, 'runtime does not import from the interfaces'),
  layer(
    ['src/activities/**/*.ts'],
    [...interfaces, 'runtime'],
    'activities do not import from runtime or interfaces',
    [
      {
        group: ['../workflows/*', '!../workflows/contract'],
        message: 'activities import only the workflow contract',
      },
      {
        group: ['../workflows/contract'],
        allowTypeImports: true,
        message: 'the contract is imported with import type',
      },
    ],
  ),
  layer(
    ['src/workflows/**/*.ts'],
    [...interfaces, 'runtime'],
    'workflows do not import from runtime or interfaces',
    [
      {
        group: ['../activities', '../activities/*'],
        allowTypeImports: true,
        message: 'workflows import activities by type only',
      },
    ],
  ),
  {
    // Workflow code must stay deterministic: no Node built-ins, no ambient clocks or randomness.
    // The folders the workflow bundle imports: workflows, the pure core it uses, the shared vocabulary.
    files: [
      'src/workflows/**/*.ts',
      'src/policies/**/*.ts',
      'src/audit/**/*.ts',
      'src/shared/**/*.ts',
      'src/agents/template.ts',
      'src/errors.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: nodeBuiltins.flatMap((m) => [m, `node:${m}`]), patterns: ['node:*'] },
      ],
    },
  },
);
