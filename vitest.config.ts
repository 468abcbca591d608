import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The cluster harness (three hub processes behind HAProxy) runs apart: npm run test:cluster.
    exclude: [...configDefaults.exclude, 'test/cluster/**'],
    environment: 'node',
    testTimeout: 30_000,
    // expect.poll returns as soon as its condition holds; the wait only matters on a loaded machine
    // (CI has two cores), where the default 1 s made browser suites flaky.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 60_000,
    // Suites share PostgreSQL and Redis; each test file uses its own schema / key prefix.
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
