import { ESLint } from 'eslint';
import { expect, it } from 'vitest';

// The sandbox rule for workflows/ lives in eslint.config.mjs; this keeps it from silently rotting.
it('lets workflow files import only the workflow SDK and activity types', async () => {
  const eslint = new ESLint();
  const source = [
    "import { readFileSync } from 'node:fs';",
    "import { Injectable } from '@nestjs/common';",
    "import { createRunActivities } from '../activities';",
    "import type { RunActivities } from '../activities';",
    "import { condition } from '@temporalio/workflow';",
    'export const used = [readFileSync, Injectable, createRunActivities, condition];',
    'export type Activities = RunActivities;',
    '',
  ].join('\n');
  const [result] = await eslint.lintText(source, { filePath: 'workflows/sandbox-check.ts' });
  const flagged = result.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.line);
  expect([...new Set(flagged)]).toEqual([1, 2, 3]);
}, 60_000);
