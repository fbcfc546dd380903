// @ts-check
import { builtinModules } from 'node:module';

import js from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', '.temporal/', 'coverage/'] },
  js.configs.recommended,
  { languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommended,
  {
    // One import order everywhere (node: built-ins and packages, then relative), so diffs stay about content.
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: { 'simple-import-sort/imports': 'error', 'simple-import-sort/exports': 'error' },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // An un-awaited promise in a workflow or activity silently loses errors and breaks determinism.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Everything in the workflow bundle (the workflows and the shared contract they import) runs in Temporal's
    // deterministic sandbox: no I/O, no Node built-ins.
    files: ['src/workflows/**/*.ts', 'src/shared/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({
            name,
            message: 'Workflows must stay deterministic: no Node built-ins.',
          })),
          patterns: [
            { group: ['node:*'], message: 'Workflows must stay deterministic: no Node built-ins.' },
            { group: ['got', 'fastify', '**/xgateway/*', '**/sandbox/*'], message: 'I/O belongs in activities.' },
            { group: ['**/activities/*'], allowTypeImports: true, message: 'Import activities type-only.' },
          ],
        },
      ],
    },
  },
);
