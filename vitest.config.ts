import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // The SDK warns that releases after January 2027 need Node 22; the lockfile pins today's releases.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: CDK synth tests and integration tests run in separate forks.
    pool: 'forks',
    maxWorkers: 2,
  },
});
