import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contextKeysMarkdownTable } from '../../lib/config.js';

// The README's configuration table is generated from lib/config.ts; this keeps it true.
describe('README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('lists every cdk.json context key with its current default', () => {
    const start = readme.indexOf('<!-- config-table:start');
    const end = readme.indexOf('<!-- config-table:end -->');
    expect(start).toBeGreaterThan(-1);
    const table = readme.slice(readme.indexOf('\n', start) + 1, end).trim();
    expect(table).toBe(contextKeysMarkdownTable().trim());
  });

  it('shows the two commands a newcomer runs', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });
});
