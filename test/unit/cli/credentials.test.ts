import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  configDir,
  credentialsPath,
  jwtExpiry,
  loadCredentials,
  removeCredentials,
  resolveSession,
  type StoredCredentials,
  saveCredentials,
} from '../../../cli/credentials.js';
import { type CliError, EXIT } from '../../../cli/errors.js';
import { jwtWith } from './fake-io.js';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const future = jwtWith({ sub: 'user-1', exp: NOW / 1000 + 3600 });
const past = jwtWith({ sub: 'user-1', exp: NOW / 1000 - 1 });

function stored(jwt: string): StoredCredentials {
  return {
    api: 'https://api.example.test',
    jwt,
    kind: 'local',
    userId: 'user-1',
    email: 'a@example.com',
    expiresAt: null,
  };
}

function freshEnv(): NodeJS.ProcessEnv {
  return { XDG_CONFIG_HOME: join(tmpdir(), `xdg-${Math.random().toString(36).slice(2)}`) };
}

function thrown(run: () => unknown): CliError | undefined {
  try {
    run();
  } catch (error) {
    return error as CliError;
  }
  return undefined;
}

describe('CLI credentials', () => {
  it('live under $XDG_CONFIG_HOME/access-tokens, else ~/.config (a relative XDG_CONFIG_HOME is ignored)', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/a' })).toBe('/x/cfg/access-tokens');
    expect(configDir({ HOME: '/home/a' })).toBe('/home/a/.config/access-tokens');
    expect(configDir({ XDG_CONFIG_HOME: 'relative', HOME: '/home/a' })).toBe('/home/a/.config/access-tokens');
  });

  it('are written with mode 0600 in a 0700 directory, even over a file that was 0644', () => {
    const env = freshEnv();
    const path = credentialsPath(env);
    mkdirSync(configDir(env), { recursive: true, mode: 0o700 });
    writeFileSync(path, '{}', { mode: 0o644 });
    chmodSync(path, 0o644);
    saveCredentials(env, stored(future));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(configDir(env)).mode & 0o777).toBe(0o700);
    expect(loadCredentials(env)).toEqual(stored(future));
  });

  it('logout removes them; a second removal says there was nothing', () => {
    const env = freshEnv();
    saveCredentials(env, stored(future));
    expect(removeCredentials(env)).toBe(true);
    expect(loadCredentials(env)).toBeNull();
    expect(removeCredentials(env)).toBe(false);
  });

  it('ACCESS_TOKENS_API and ACCESS_TOKENS_JWT override the stored ones', () => {
    const env = freshEnv();
    saveCredentials(env, stored(future));
    const other = jwtWith({ sub: 'ci', exp: NOW / 1000 + 60 });
    expect(
      resolveSession(
        { ...env, ACCESS_TOKENS_API: 'https://other.test/v1/', ACCESS_TOKENS_JWT: other },
        () => NOW,
      ),
    ).toEqual({
      api: 'https://other.test/v1',
      jwt: other,
    });
    expect(resolveSession(env, () => NOW)).toEqual({ api: 'https://api.example.test', jwt: future });
  });

  it('not signed in, or a JWT whose exp has passed: exit 4 with "run access-tokens login"', () => {
    const none = thrown(() => resolveSession(freshEnv(), () => NOW));
    expect(none?.exitCode).toBe(EXIT.signedOut);
    expect(none?.message).toContain('access-tokens login');

    const env = freshEnv();
    saveCredentials(env, stored(past));
    const expired = thrown(() => resolveSession(env, () => NOW));
    expect(expired?.exitCode).toBe(EXIT.signedOut);
    expect(expired?.message).toMatch(/expired.*access-tokens login/);

    const fromEnv = thrown(() =>
      resolveSession(
        { ...freshEnv(), ACCESS_TOKENS_API: 'https://a.test', ACCESS_TOKENS_JWT: past },
        () => NOW,
      ),
    );
    expect(fromEnv?.exitCode).toBe(EXIT.signedOut);
  });

  it('a corrupt credentials file reads as not signed in', () => {
    const env = freshEnv();
    mkdirSync(configDir(env), { recursive: true });
    writeFileSync(credentialsPath(env), 'not json');
    expect(loadCredentials(env)).toBeNull();
  });

  it('jwtExpiry reads exp from any payload and never throws', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (exp) => jwtExpiry(jwtWith({ exp })) === exp),
    );
    fc.assert(
      fc.property(
        fc.string(),
        (garbage) => jwtExpiry(garbage) === null || typeof jwtExpiry(garbage) === 'number',
      ),
    );
  });
});
