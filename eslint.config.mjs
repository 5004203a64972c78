// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', 'web/dist/**', 'scripts/*.js', 'bin/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-definitions': ['error', 'type'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'Use a string union instead of an enum.' }],
    },
  },
  {
    // The contract is shared by the server, the browser, the CLI and the agent: zod and its own files only.
    files: ['contract/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!zod$|\\./).*', message: 'contract/ may import only zod and its own files (it runs in the browser too).' }] },
      ],
    },
  },
  {
    // The web UI shares only the contract with the rest (the browser cannot run Nest or Node code).
    files: ['web/src/**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(\\.\\./)+(src|agent|cli|scripts|workflows|activities|worker)/', message: 'web/ may import only its own files, the contract and packages.' }] },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: only the workflow SDK and type-only imports of activities.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@temporalio/workflow$|\\./|\\.\\./activities).*',
              message: 'Workflow files may import only @temporalio/workflow, sibling workflow files, and `import type` from activities.',
            },
            { group: ['../activities', '../activities/*'], allowTypeImports: true, message: 'Import activities with `import type` only.' },
            { group: ['node:*', '@nestjs/*'], message: 'Node and Nest APIs are not allowed in workflow code.' },
          ],
        },
      ],
    },
  },
);
