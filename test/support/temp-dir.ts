import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { TEST_TMP_ROOT_ENV } from './tmp-root.js';

// Every test file (every project) gets a temporary directory of its own, removed after its last
// hook, and TMPDIR points there meanwhile: whatever the file, the code under test or a library
// writes to os.tmpdir() (key files, CDK cloud assemblies, a local stack's data, the child processes
// it starts) goes away with it, even where nobody removes it explicitly. This setup file's afterAll
// is registered first, so it runs after the file's own (which stop what still uses the directory).
// The directories sit in the run's own (TEST_TMP_ROOT_ENV, vitest.config.ts), which the vitest
// process removes when it exits: a file whose tests are all filtered out (`-t`) runs no hooks.

const previous = process.env.TMPDIR;
const root = mkdtempSync(join(process.env[TEST_TMP_ROOT_ENV] ?? tmpdir(), 'atk-test-'));
process.env.TMPDIR = root;

afterAll(() => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  rmSync(root, { recursive: true, force: true });
});
