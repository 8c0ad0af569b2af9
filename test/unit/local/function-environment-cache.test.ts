import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../../lambdas/runtime/env.js';
import { checkFunctionEnvironmentsOnce, type RunPlaces } from '../../../local/function-environment-cache.js';
import type { FunctionEnvironmentSpec } from '../../../local/function-environments.js';

// A passed check of the local functions' environments is remembered: a restart with the same code and
// the same environments skips ten worker threads' worth of loading; anything else checks again.

const SPECS: readonly FunctionEnvironmentSpec[] = [
  { name: 'getToken', entry: 'lambdas/get-token.ts', variables: [ENV.tableName] },
];

function repository() {
  const rootDir = mkdtempSync(join(tmpdir(), 'repo-'));
  mkdirSync(join(rootDir, 'lambdas', 'core'), { recursive: true });
  writeFileSync(join(rootDir, 'lambdas', 'get-token.ts'), 'export const handler = () => 1;\n');
  writeFileSync(join(rootDir, 'lambdas', 'core', 'tokens.ts'), 'export const x = 1;\n');
  writeFileSync(join(rootDir, 'package-lock.json'), '{}\n');
  const cacheDir = join(rootDir, 'cache');
  const checks: Record<string, string>[] = [];
  const run = (env: Record<string, string>, places: RunPlaces, fail?: Error) =>
    checkFunctionEnvironmentsOnce(rootDir, env, places, {
      specs: SPECS,
      cacheDir,
      check: async (_root, environment) => {
        checks.push({ ...environment });
        if (fail !== undefined) throw fail;
      },
    });
  return { rootDir, cacheDir, checks, run };
}

const envOn = (port: number, dataDir: string) => ({
  [ENV.tableName]: 'access-tokens',
  AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}`,
  [ENV.hmacKeyFile]: join(dataDir, 'hmac.key'),
});
const placesOn = (port: number, dataDir: string): RunPlaces => ({
  dynamoDb: `http://127.0.0.1:${port}`,
  gateway: `http://127.0.0.1:${port}1`,
  dataDir,
});

describe('the local functions’ environment check, remembered', () => {
  it('checks once; the same code and environments on other ports and data directories are not checked again', async () => {
    const { run, checks } = repository();
    await expect(run(envOn(8000, '/a/.data'), placesOn(8000, '/a/.data'))).resolves.toBe('checked');
    await expect(run(envOn(8000, '/a/.data'), placesOn(8000, '/a/.data'))).resolves.toBe('unchanged');
    // Port 3911 is a prefix of the gateway's 39111: the longer place is written as its role first.
    await expect(run(envOn(3911, '/tmp/x'), placesOn(3911, '/tmp/x'))).resolves.toBe('unchanged');
    expect(checks).toHaveLength(1);
  });

  it('checks again when a handler’s code changes, or what it imports', async () => {
    const { rootDir, run, checks } = repository();
    const env = envOn(8000, '/d');
    await run(env, placesOn(8000, '/d'));
    writeFileSync(join(rootDir, 'lambdas', 'core', 'tokens.ts'), 'export const x = 2;\n');
    await expect(run(env, placesOn(8000, '/d'))).resolves.toBe('checked');
    writeFileSync(join(rootDir, 'package-lock.json'), '{"lockfileVersion":3}\n');
    await expect(run(env, placesOn(8000, '/d'))).resolves.toBe('checked');
    expect(checks).toHaveLength(3);
  });

  it('checks again when a variable goes missing, goes empty or changes', async () => {
    const { run, checks } = repository();
    const env = envOn(8000, '/d');
    await run(env, placesOn(8000, '/d'));
    const { [ENV.tableName]: _dropped, ...withoutTable } = env;
    await expect(run(withoutTable, placesOn(8000, '/d'))).resolves.toBe('checked');
    await expect(run({ ...env, [ENV.tableName]: '' }, placesOn(8000, '/d'))).resolves.toBe('checked');
    await expect(run({ ...env, [ENV.tableName]: 'other' }, placesOn(8000, '/d'))).resolves.toBe('checked');
    expect(checks.map((checked) => checked[ENV.tableName])).toEqual([
      'access-tokens',
      undefined,
      '',
      'other',
    ]);
  });

  it('does not remember a failed check', async () => {
    const { run, checks, cacheDir } = repository();
    const env = envOn(8000, '/d');
    const failure = new Error('getToken (lambdas/get-token.ts) does not load: Missing TABLE_NAME');
    await expect(run(env, placesOn(8000, '/d'), failure)).rejects.toBe(failure);
    await expect(run(env, placesOn(8000, '/d'), failure)).rejects.toBe(failure);
    expect(checks).toHaveLength(2);
    await expect(run(env, placesOn(8000, '/d'))).resolves.toBe('checked');
    await expect(run(env, placesOn(8000, '/d'))).resolves.toBe('unchanged');
    expect(readdirSync(cacheDir)).toHaveLength(1);
  });
});
