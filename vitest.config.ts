import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites share PostgreSQL and Redis; each test file uses its own schema / key prefix.
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
