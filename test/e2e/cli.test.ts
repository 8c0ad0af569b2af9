import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaled } from '../support/time.js';
import { type StackProcess, spawnLocalStackOnFreePorts, stackTestTimeout } from './local-stack-process.js';

// The `access-tokens` CLI end to end: the REAL binary (package.json `bin`, cli/access-tokens.mjs) as
// a child process with no terminal on stdin, against `npm start`'s stack on free ports, with its
// credentials in a temporary XDG_CONFIG_HOME. A script's view: exit codes, stdout, stderr.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'cli', 'access-tokens.mjs');
const SECRET_PATTERN = /atk_[0-9A-Za-z]{20,}/;

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const dataDir = mkdtempSync(join(tmpdir(), 'atk-cli-e2e-'));
let stack: StackProcess | undefined;
let gateway = '';
/** Every stderr the CLI printed: no secret may ever be in it. */
const allStderr: string[] = [];

/** A new, empty XDG_CONFIG_HOME: each test has its own credentials. */
function freshConfig(): string {
  return mkdtempSync(join(dataDir, 'config-'));
}

function cli(
  args: readonly string[],
  configHome: string,
  env: Record<string, string> = {},
  stdin = '',
): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      XDG_CONFIG_HOME: configHome,
      ACCESS_TOKENS_API: '',
      ACCESS_TOKENS_JWT: '',
      ...env,
    },
    // stdin a pipe (what the test writes, then closed): no terminal, as in CI.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      allStderr.push(stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A call to the demo API with a token: what a client of a protected API sees. */
async function demoStatus(secret: string): Promise<number> {
  const response = await fetch(`${gateway}/demo/content/hello`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  await response.arrayBuffer();
  return response.status;
}

/** An unsigned JWT whose `exp` is `exp` (seconds): enough for the CLI's own expiry check. */
function jwtWithExpiry(exp: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ sub: 'someone', exp })}.c2lnbmF0dXJl`;
}

describe('access-tokens CLI against npm start', () => {
  beforeAll(async () => {
    const started = await spawnLocalStackOnFreePorts(join(dataDir, 'data'));
    stack = started.stack;
    gateway = started.urls.gateway;
    await stack.ready;
  }, stackTestTimeout());

  afterAll(async () => {
    stack?.kill();
    await stack?.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A config home signed in with --local as a member of `acme`. */
  async function signedIn(): Promise<string> {
    const configHome = freshConfig();
    const login = await cli(
      [
        'login',
        '--local',
        '--api',
        gateway,
        '--email',
        'dev@example.com',
        '--account',
        'acme',
        '--role',
        'member',
      ],
      configHome,
    );
    expect(login.code, login.stderr).toBe(0);
    return configHome;
  }

  it(
    'not signed in: exit 4 and "run access-tokens login"',
    async () => {
      const result = await cli(['tokens', 'list'], freshConfig());
      expect(result.code).toBe(4);
      expect(result.stderr).toContain('access-tokens login');
      expect(result.stdout).toBe('');
    },
    scaled(60_000),
  );

  it(
    'signs in (--local), then create (--quiet captures the secret alone), list, get, rotate and revoke',
    async () => {
      const config = await signedIn();
      const credentials = join(config, 'access-tokens', 'credentials.json');
      expect(statSync(credentials).mode & 0o777).toBe(0o600);

      const created = await cli(
        [
          'tokens',
          'create',
          '--name',
          'ci deploy',
          '--scope',
          'content:read',
          '--expires-in-days',
          '7',
          '--quiet',
        ],
        config,
      );
      expect(created.code, created.stderr).toBe(0);
      // Exactly the secret and a newline on stdout: `$(access-tokens tokens create … --quiet)`.
      expect(created.stdout).toMatch(/^atk_[0-9A-Za-z]+\n$/);
      const secret = created.stdout.trim();
      expect(created.stderr).toMatch(/shown once/i);
      expect(await demoStatus(secret)).toBe(200);

      const listed = await cli(['tokens', 'list', '--json'], config);
      expect(listed.code, listed.stderr).toBe(0);
      const items = JSON.parse(listed.stdout) as { id: string; name: string; hint: string }[];
      const mine = items.find((item) => item.name === 'ci deploy');
      expect(mine?.hint.endsWith(secret.slice(-4))).toBe(true);
      const id = mine?.id ?? '';

      const table = await cli(['tokens', 'list'], config);
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATUS/);
      expect(table.stdout).toContain(id);

      const got = await cli(['tokens', 'get', id, '--json'], config);
      expect(got.code, got.stderr).toBe(0);
      const detail = JSON.parse(got.stdout) as Record<string, unknown>;
      expect(detail).toMatchObject({ id, name: 'ci deploy', status: 'active' });
      expect(detail).not.toHaveProperty('secret');

      const rotated = await cli(['tokens', 'rotate', id, '--quiet'], config);
      expect(rotated.code, rotated.stderr).toBe(0);
      const newSecret = rotated.stdout.trim();
      expect(rotated.stdout).toMatch(/^atk_[0-9A-Za-z]+\n$/);
      expect(newSecret).not.toBe(secret);
      expect(await demoStatus(newSecret)).toBe(200);
      expect(await demoStatus(secret)).not.toBe(200);

      const revoked = await cli(['tokens', 'revoke', id], config);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(await demoStatus(newSecret)).not.toBe(200);
      const after = await cli(['tokens', 'get', id, '--json'], config);
      expect((JSON.parse(after.stdout) as { status: string }).status).toBe('revoked');

      const audit = await cli(['audit', '--token', id, '--json'], config);
      expect(audit.code, audit.stderr).toBe(0);
      const actions = (JSON.parse(audit.stdout) as { action: string }[]).map((event) => event.action);
      expect(actions).toEqual(['token.revoked', 'token.rotated', 'token.created']);

      for (const stderr of allStderr) expect(stderr).not.toMatch(SECRET_PATTERN);
    },
    scaled(120_000),
  );

  it(
    'leaks report: a secret piped on stdin is revoked (POST /leaks); the same secret again changes nothing',
    async () => {
      const config = await signedIn();
      const created = await cli(
        ['tokens', 'create', '--name', 'pasted in a gist', '--scope', 'content:read', '--quiet'],
        config,
      );
      expect(created.code, created.stderr).toBe(0);
      const secret = created.stdout.trim();
      expect(await demoStatus(secret)).toBe(200);

      const args = ['leaks', 'report', '--url', 'https://gist.github.com/someone/1', '--json'];
      const reported = await cli(args, config, {}, `${secret}\n`);
      expect(reported.code, reported.stderr).toBe(0);
      const result = JSON.parse(reported.stdout) as { tokenId: string; outcome: string };
      expect(result.outcome).toBe('revoked');
      expect(await demoStatus(secret)).not.toBe(200);

      const again = await cli(args, config, {}, `${secret}\n`);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual({ tokenId: result.tokenId, outcome: 'already_inactive' });
      for (const stderr of allStderr) expect(stderr).not.toMatch(SECRET_PATTERN);
    },
    scaled(120_000),
  );

  it(
    'bad input: exit 2 with a usage line, and no request',
    async () => {
      const config = await signedIn();
      const badId = await cli(['tokens', 'get', 'not-a-token-id'], config);
      expect(badId.code).toBe(2);
      expect(badId.stderr).toMatch(/^Usage: access-tokens tokens get \[options\] <id>$/m);

      const missing = await cli(['tokens', 'create', '--name', 'no scopes'], config);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^Usage: access-tokens tokens create/m);

      const unknown = await cli(['tokens', 'frobnicate'], config);
      expect(unknown.code).toBe(2);
    },
    scaled(60_000),
  );

  it(
    "an API error: exit 1 with the API's code and message on stderr",
    async () => {
      const config = await signedIn();
      const result = await cli(['tokens', 'get', 'tok_0000000000000000000000'], config);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('NOT_FOUND');
      expect(result.stdout).toBe('');
    },
    scaled(60_000),
  );

  it(
    'an expired session (ACCESS_TOKENS_JWT past its exp, or one the API refuses): exit 4 with "run access-tokens login"',
    async () => {
      const expired = await cli(['tokens', 'list'], freshConfig(), {
        ACCESS_TOKENS_API: gateway,
        ACCESS_TOKENS_JWT: jwtWithExpiry(Math.floor(Date.now() / 1000) - 60),
      });
      expect(expired.code).toBe(4);
      expect(expired.stderr).toContain('access-tokens login');

      // Not expired by its claim, but not signed by the issuer: the API answers 401.
      const refused = await cli(['tokens', 'list'], freshConfig(), {
        ACCESS_TOKENS_API: gateway,
        ACCESS_TOKENS_JWT: jwtWithExpiry(Math.floor(Date.now() / 1000) + 3600),
      });
      expect(refused.code).toBe(4);
      expect(refused.stderr).toContain('access-tokens login');
    },
    scaled(60_000),
  );

  it(
    'logout removes the credentials: the next command exits 4',
    async () => {
      const config = await signedIn();
      expect((await cli(['policy'], config)).code).toBe(0);
      const logout = await cli(['logout'], config);
      expect(logout.code).toBe(0);
      const after = await cli(['policy'], config);
      expect(after.code).toBe(4);
    },
    scaled(60_000),
  );
});
