import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NEEDS_ISOLATION, UNIT_FILES_THAT_NEED_ISOLATION } from '../support/unit-isolation.js';

// Most unit files share their worker's modules (vitest.config.ts); a file that mocks modules or
// stubs the environment must run with fresh ones, or it changes what the next file in its worker sees.
function unitTestFiles(): string[] {
  return readdirSync('test/unit', { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => join('test/unit', file));
}

describe('unit files that need fresh modules', () => {
  it('every file that mocks modules or stubs env is in the isolated list, and every listed file exists', () => {
    const files = unitTestFiles();
    const needing = files.filter((file) => NEEDS_ISOLATION.test(readFileSync(file, 'utf8')));
    expect(needing.length).toBeGreaterThan(0);
    expect(UNIT_FILES_THAT_NEED_ISOLATION).toEqual(expect.arrayContaining(needing));
    expect(files).toEqual(expect.arrayContaining(UNIT_FILES_THAT_NEED_ISOLATION));
  });
});
