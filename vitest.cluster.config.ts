import { defineConfig } from 'vitest/config';

/**
 * `npm run test:cluster`: three hub processes behind HAProxy over PostgreSQL and Redis
 * (test/cluster). Not part of `npm test` (vitest.config.ts excludes the folder). The files run one
 * after another: each starts a whole cluster, and two cores cannot host two at once.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 300_000,
    expect: { poll: { timeout: 10_000 } },
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
  },
});
