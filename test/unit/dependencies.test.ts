import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { globSync } from 'tinyglobby';
import { expect, it } from 'vitest';

// The image (Dockerfile) keeps only `dependencies` (npm prune --omit=dev); a package the running code
// imports that is only a devDependency, or only there because something else pulls it in, works in
// every test here and fails in production.
const RUNTIME_CODE = ['contract/**/*.ts', 'src/**/*.ts', 'agent/**/*.ts', 'activities/**/*.ts', 'worker/**/*.ts', 'workflows/**/*.ts', 'cli/**/*.ts'];

function importedPackages(source: string): string[] {
  const specifiers: string[] = [];
  // Value imports and re-exports (`import type` and `export type` vanish at build), dynamic imports, require.
  for (const match of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) specifiers.push(match[1]);
  for (const match of source.matchAll(/\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g)) specifiers.push(match[1]);
  return specifiers
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:') && !builtinModules.includes(specifier))
    .map((specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]));
}

it('declares every package the running code imports as a dependency, not a devDependency', () => {
  const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
  const missing: string[] = [];
  const files = globSync(RUNTIME_CODE, { ignore: ['**/*.d.ts'] });
  expect(files.length).toBeGreaterThan(50);
  for (const file of files) {
    for (const name of importedPackages(readFileSync(file, 'utf8'))) {
      if (!(name in manifest.dependencies)) missing.push(`${file}: ${name}`);
    }
  }
  expect(missing).toEqual([]);
});

it('recognises the import forms it checks', () => {
  expect(importedPackages("import { a } from 'yaml';\nimport type { B } from 'typescript';\nexport { c } from '@scope/pkg/sub';\nconst d = await import('tinyglobby');\nimport './local';\nimport 'node:fs';")).toEqual(['yaml', '@scope/pkg', 'tinyglobby']);
});
