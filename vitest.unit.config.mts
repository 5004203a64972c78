import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// The unit tier alone (`npm run test:unit`): no PostgreSQL or Temporal to start, so one file runs in
// seconds while working on the engine. `npm test` runs every tier with vitest.config.mts.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/unit/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
  },
});
