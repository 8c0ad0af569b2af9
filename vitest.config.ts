import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { TIME_SCALE_ENV, timeScaleForThisMachine } from './test/support/time.js';
import { TEST_TMP_ROOT_ENV } from './test/support/tmp-root.js';
import { UNIT_FILES_THAT_NEED_ISOLATION } from './test/support/unit-isolation.js';

// Four projects, each runnable alone (`npm run test:unit`, `test:integration`, `test:infra`,
// `test:e2e`); `npm test` runs them all:
//   unit         no emulator, no network beyond 127.0.0.1 servers a test starts itself; the files
//                share their worker's modules (importing them again per file was most of the time),
//                except the few that mock modules or stub the environment (`unit-isolated`);
//   integration  DynamoDB Local and the SES emulator, started once by the project's global setup;
//   infra        CDK assertions and cdk-nag (synth is the slow part; bundling only where a test
//                reads the bundled code);
//   e2e          the local stack as `npm start` runs it (each file starts its own).
//
// Every deadline is a last-resort guard, scaled for the machine (test/support/time.ts): the scale is
// computed once here and handed to every worker through the environment.
const timeScale = timeScaleForThisMachine();
const scaled = (ms: number) => Math.round(ms * timeScale);

// The run's temporary directory: each test file's own is made inside it (test/support/temp-dir.ts)
// and removed after the file; whatever a file could not remove goes when this process exits.
const tmpRoot = mkdtempSync(join(tmpdir(), 'atk-run-'));
process.once('exit', () => rmSync(tmpRoot, { recursive: true, force: true }));

export default defineConfig({
  test: {
    env: {
      [TIME_SCALE_ENV]: String(timeScale),
      [TEST_TMP_ROOT_ENV]: tmpRoot,
      // The SDK warns that releases after January 2027 need Node 22; the lockfile pins today's releases.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    // A temporary directory per test file, removed after it; Powertools log lines kept out of the
    // run's output, shown for a failing test.
    setupFiles: ['test/support/temp-dir.ts', 'test/support/quiet-logs.ts'],
    testTimeout: scaled(60_000),
    hookTimeout: scaled(120_000),
    teardownTimeout: scaled(60_000),
    // Two cores: CDK synth tests and integration tests run in separate forks.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: UNIT_FILES_THAT_NEED_ISOLATION,
          isolate: false,
          setupFiles: ['test/support/shared-module-hygiene.ts'],
        },
      },
      { extends: true, test: { name: 'unit-isolated', include: UNIT_FILES_THAT_NEED_ISOLATION } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        extends: true,
        // Files share their worker's modules (aws-cdk-lib loads once) and its synthesized stacks
        // (test/infra/helpers.ts): assertions only read them, and nothing here stubs env or modules.
        // aws-cdk-lib's cached temp directory is forgotten before each file (test/support/cdk-tmpdir.ts).
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          isolate: false,
          setupFiles: ['test/support/cdk-tmpdir.ts'],
        },
      },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
