import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: CDK synth tests and integration tests run in separate forks.
    pool: 'forks',
    maxWorkers: 2,
  },
});
