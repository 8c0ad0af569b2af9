import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../../cli/errors.js';
import { buildProgram, run } from '../../../cli/program.js';
import packageJson from '../../../package.json' with { type: 'json' };
import { fakeIo, type Recorded, signedInEnv } from './fake-io.js';

// The CLI in-process: argument parsing, what it sends, what it prints where, and its exit codes,
// against a scripted API (fake-io.ts).

const SECRET = `atk_${'S'.repeat(49)}`;
const ID = 'tok_0123456789abcdefghijkl';

function tokenView(id: string, name: string) {
  return {
    id,
    name,
    description: '',
    scopes: ['content:read'],
    type: 'standard',
    allowedIps: [],
    hint: 'atk_…SSSS',
    status: 'active',
    createdAt: '2026-11-30T12:00:00.000Z',
    expiresAt: '2026-12-07T12:00:00.000Z',
    lastUsedAt: null,
    rotatedAt: null,
    userId: 'user-1',
    accountId: 'acme',
    createdBy: 'user-1',
  };
}

const detail = (id: string, name: string) => ({
  ...tokenView(id, name),
  limits: { rateLimit: { requestsPerSecond: 50, burst: 100 }, quota: null, source: 'type' },
  usage: null,
});

function leafPaths(command: Command, path: string[] = []): string[][] {
  if (command.commands.length === 0) return [path];
  return command.commands.flatMap((sub) => leafPaths(sub, [...path, sub.name()]));
}

describe('access-tokens (in-process)', () => {
  it('--version prints package.json’s version; exit 0', async () => {
    const io = fakeIo();
    expect(await run(['--version'], io)).toBe(EXIT.ok);
    expect(io.out().trim()).toBe(packageJson.version);
  });

  it('--help works on every command and names its usage; exit 0, no request', async () => {
    const paths = leafPaths(buildProgram(fakeIo())).filter((path) => path[path.length - 1] !== 'help');
    expect(paths.map((path) => path.join(' '))).toEqual(
      expect.arrayContaining([
        'login',
        'logout',
        'tokens list',
        'tokens get',
        'tokens create',
        'tokens edit',
        'tokens rotate',
        'tokens revoke',
        'tokens revoke-all',
        'audit',
        'policy',
        'users access get',
        'users access set',
        'leaks report',
      ]),
    );
    for (const path of paths) {
      const io = fakeIo();
      expect(await run([...path, '--help'], io), path.join(' ')).toBe(EXIT.ok);
      expect(io.out()).toContain(`Usage: access-tokens ${path.join(' ')}`);
      expect(io.out()).toContain('--json');
      expect(io.requests).toHaveLength(0);
    }
  });

  it('no command takes a secret as a flag value (shell history, ps): a token is a token id or comes from stdin', async () => {
    const commands = (command: Command): Command[] => [command, ...command.commands.flatMap(commands)];
    for (const command of commands(buildProgram(fakeIo()))) {
      for (const option of command.options) {
        expect(option.long ?? '', command.name()).not.toMatch(/secret|jwt|password|credential/i);
      }
    }
    // `--token` (audit) is a token id: a secret there is a usage error, never sent.
    const io = fakeIo({ env: signedInEnv() });
    expect(await run(['audit', '--token', SECRET], io)).toBe(EXIT.usage);
    expect(io.requests).toHaveLength(0);
    expect(io.err()).not.toContain(SECRET);
    const pasted = fakeIo({ env: signedInEnv() });
    expect(await run(['tokens', 'get', SECRET], pasted)).toBe(EXIT.usage);
    expect(pasted.err()).toContain('atk_…(redacted)');
    expect(pasted.err()).not.toContain(SECRET.slice(4, 30));
  });

  it('usage errors exit 2 with a usage line and send nothing', async () => {
    for (const argv of [
      ['tokens', 'get', 'nope'],
      ['tokens', 'create', '--name', 'x'],
      ['tokens', 'create', '--name', 'x', '--scope', 'content:read', '--expires-in-days', 'seven'],
      ['tokens', 'create', '--name', '', '--scope', 'content:read'],
      ['tokens', 'create', '--name', 'x', '--scope', 'a:read', '--quota', '10/YEAR'],
      ['tokens', 'list', '--limit', '0'],
      ['tokens', 'list', '--limit', '5', '--all'],
      ['tokens', 'list', '--status', 'gone'],
      ['tokens', 'revoke-all'],
      ['users', 'access', 'set', 'user-1', 'maybe'],
      ['tokens', 'frobnicate'],
      ['--bogus'],
    ]) {
      const io = fakeIo({ env: signedInEnv() });
      expect(await run(argv, io), argv.join(' ')).toBe(EXIT.usage);
      expect(io.err(), argv.join(' ')).toMatch(/error|Usage/);
      expect(io.requests, argv.join(' ')).toHaveLength(0);
    }
    const io = fakeIo({ env: signedInEnv() });
    await run(['tokens', 'rotate', 'bad-id'], io);
    expect(io.err()).toMatch(/^Usage: access-tokens tokens rotate \[options\] <id>$/m);
  });

  it('create: the body the API expects; the secret alone on stdout, the warning on stderr; --json has it all', async () => {
    const route = (request: Recorded) =>
      request.method === 'POST' && request.url.pathname === '/v1/tokens'
        ? { status: 201, body: { ...detail(ID, 'ci'), secret: SECRET } }
        : undefined;
    const io = fakeIo({ env: signedInEnv(), route });
    const code = await run(
      [
        'tokens',
        'create',
        '--name',
        'ci',
        '--scope',
        'content:read,content:write',
        '--scope',
        'reports:read',
        '--expires-in-days',
        '7',
        '--allow-ip',
        '10.0.0.0/8',
        '--rate-limit',
        '5/10',
        '--quota',
        '100/day',
      ],
      io,
    );
    expect(code).toBe(EXIT.ok);
    expect(io.requests[0]?.body).toEqual({
      name: 'ci',
      scopes: ['content:read', 'content:write', 'reports:read'],
      expiresInDays: 7,
      allowedIps: ['10.0.0.0/8'],
      limits: { rateLimit: { requestsPerSecond: 5, burst: 10 }, quota: { limit: 100, period: 'DAY' } },
    });
    expect(io.requests[0]?.headers.get('authorization')).toMatch(/^Bearer ey/);
    expect(io.out()).toBe(`${SECRET}\n`);
    expect(io.err()).toMatch(/shown once/);
    expect(io.err()).not.toContain(SECRET);

    const quiet = fakeIo({ env: signedInEnv(), route });
    await run(['tokens', 'create', '--name', 'ci', '--scope', 'content:read', '--quiet'], quiet);
    expect(quiet.out()).toBe(`${SECRET}\n`);
    expect(quiet.err()).not.toContain(ID);

    const asJson = fakeIo({ env: signedInEnv(), route });
    await run(
      ['tokens', 'create', '--name', 'ci', '--scope', 'content:read', '--no-expiry', '--json'],
      asJson,
    );
    expect(asJson.requests[0]?.body).toMatchObject({ expiresAt: null });
    expect(JSON.parse(asJson.out())).toMatchObject({ id: ID, secret: SECRET });
    expect(asJson.err()).not.toContain(SECRET);
  });

  it('list follows nextCursor: --all to the end, --limit n stops at n (asking for no more than needed)', async () => {
    const pages: Record<string, { items: ReturnType<typeof tokenView>[]; nextCursor: string | null }> = {
      first: { items: [tokenView(ID, 'a'), tokenView(ID, 'b')], nextCursor: 'c2' },
      c2: { items: [tokenView(ID, 'c'), tokenView(ID, 'd')], nextCursor: 'c3' },
      c3: { items: [tokenView(ID, 'e')], nextCursor: null },
    };
    const route = (request: Recorded) => {
      const page = pages[request.url.searchParams.get('cursor') ?? 'first'];
      const limit = Number(request.url.searchParams.get('limit'));
      return page === undefined
        ? undefined
        : { status: 200, body: { ...page, items: page.items.slice(0, limit) } };
    };
    const all = fakeIo({ env: signedInEnv(), route });
    expect(await run(['tokens', 'list', '--all', '--json'], all)).toBe(EXIT.ok);
    expect((JSON.parse(all.out()) as { name: string }[]).map((token) => token.name)).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    expect(all.requests).toHaveLength(3);

    const three = fakeIo({ env: signedInEnv(), route });
    await run(['tokens', 'list', '--limit', '3', '--status', 'active', '--user', '*'], three);
    expect(three.requests.map((request) => request.url.searchParams.get('limit'))).toEqual(['3', '1']);
    expect(three.requests[0]?.url.searchParams.get('status')).toBe('active');
    expect(three.requests[0]?.url.searchParams.get('userId')).toBe('*');
    const lines = three.out().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATUS/);
    expect(lines).toHaveLength(4);
    expect(three.err()).toMatch(/--all/);
  });

  it("API errors: exit 1 with the API's code and message on stderr; a 401: exit 4 with 'run access-tokens login'", async () => {
    const conflict = fakeIo({
      env: signedInEnv(),
      route: () => ({ status: 409, body: { error: { code: 'CONFLICT', message: 'The token has expired' } } }),
    });
    expect(await run(['tokens', 'revoke', ID], conflict)).toBe(EXIT.error);
    expect(conflict.err()).toBe('error: CONFLICT: The token has expired\n');
    expect(conflict.out()).toBe('');

    const refused = fakeIo({
      env: signedInEnv(),
      route: () => ({ status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'Unauthorized' } } }),
    });
    expect(await run(['policy'], refused)).toBe(EXIT.signedOut);
    expect(refused.err()).toContain('access-tokens login');

    const unreachable = fakeIo({
      env: signedInEnv(),
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    expect(await run(['policy'], unreachable)).toBe(EXIT.error);
    expect(unreachable.err()).toContain('cannot reach the API');
  });

  it('revoke-all: 202 → follows the job until done, progress on stderr', async () => {
    let polls = 0;
    const route = (request: Recorded) => {
      if (request.method === 'DELETE')
        return { status: 202, body: { jobId: 'evt_job', status: 'running', revoked: 10 } };
      polls += 1;
      return {
        status: 200,
        body: {
          jobId: 'evt_job',
          status: polls < 3 ? 'running' : 'done',
          revoked: 10 + polls * 100,
          target: '*',
          requestedBy: 'user-1',
          startedAt: '2026-11-30T12:00:00Z',
          finishedAt: polls < 3 ? null : '2026-11-30T12:01:00Z',
        },
      };
    };
    const io = fakeIo({ env: signedInEnv(), route });
    expect(await run(['tokens', 'revoke-all', '--user', '*', '--yes'], io)).toBe(EXIT.ok);
    expect(io.requests[0]?.url.searchParams.get('userId')).toBe('*');
    expect(io.requests.slice(1).map((request) => request.url.pathname)).toEqual(
      Array(3).fill('/v1/revoke-all-jobs/evt_job'),
    );
    expect(io.err()).toContain('110 revoked so far');
    expect(io.out()).toBe('Revoked 310 token(s).\n');
  });

  it('edit and users access set send the API’s bodies', async () => {
    const route = (request: Recorded) =>
      request.method === 'PATCH'
        ? { status: 200, body: detail(ID, 'renamed') }
        : {
            status: 200,
            body: {
              userId: 'user-2',
              accountId: 'acme',
              enabled: false,
              updatedAt: null,
              updatedBy: null,
              tokensAffected: 2,
            },
          };
    const edit = fakeIo({ env: signedInEnv(), route });
    expect(await run(['tokens', 'edit', ID, '--name', 'renamed', '--any-ip', '--type-limits'], edit)).toBe(
      EXIT.ok,
    );
    expect(edit.requests[0]?.body).toEqual({
      name: 'renamed',
      allowedIps: [],
      limits: { rateLimit: null, quota: null },
    });
    expect(edit.out()).toMatch(/^name:\s+renamed$/m);

    const nothing = fakeIo({ env: signedInEnv(), route });
    expect(await run(['tokens', 'edit', ID], nothing)).toBe(EXIT.usage);

    const access = fakeIo({ env: signedInEnv(), route });
    expect(await run(['users', 'access', 'set', 'user-2', 'disabled', '--json'], access)).toBe(EXIT.ok);
    expect(access.requests[0]).toMatchObject({ method: 'PUT', body: { enabled: false } });
    expect(access.requests[0]?.url.pathname).toBe('/v1/users/user-2/token-access');
  });

  it('leaks report reads the token from stdin (never a flag) and posts it with url and source', async () => {
    const route = () => ({ status: 200, body: { tokenId: ID, outcome: 'revoked' } });
    const io = fakeIo({ env: signedInEnv(), route, stdin: `${SECRET}\n` });
    expect(await run(['leaks', 'report', '--url', 'https://gist.example/x', '--source', 'a gist'], io)).toBe(
      EXIT.ok,
    );
    expect(io.requests[0]).toMatchObject({
      method: 'POST',
      body: { token: SECRET, url: 'https://gist.example/x', source: 'a gist' },
    });
    expect(io.out()).toContain(`Revoked ${ID}`);
    expect(io.out() + io.err()).not.toContain(SECRET);

    const empty = fakeIo({ env: signedInEnv(), route, stdin: '\n' });
    expect(await run(['leaks', 'report'], empty)).toBe(EXIT.usage);
    expect(empty.requests).toHaveLength(0);
  });

  it('login --local posts to the dev sign-in and stores the session; logout removes it', async () => {
    const jwt = signedInEnv().ACCESS_TOKENS_JWT ?? '';
    const route = (request: Recorded) =>
      request.url.pathname === '/_local/session'
        ? { status: 200, body: { jwt, userId: 'user-1', expiresAt: '2026-12-01T00:00:00.000Z' } }
        : { status: 200, body: { items: [], nextCursor: null } };
    const io = fakeIo({ route });
    expect(
      await run(['login', '--local', '--email', 'a@example.com', '--account', 'acme', '--role', 'admin'], io),
    ).toBe(EXIT.ok);
    expect(io.requests[0]?.url.href).toBe('http://127.0.0.1:4010/_local/session');
    expect(io.requests[0]?.body).toEqual({ email: 'a@example.com', accountId: 'acme', role: 'admin' });
    expect(io.err()).not.toContain(jwt);
    expect(await run(['tokens', 'list'], io)).toBe(EXIT.ok);
    expect(io.requests[1]?.headers.get('authorization')).toBe(`Bearer ${jwt}`);
    expect(await run(['logout'], io)).toBe(EXIT.ok);
    expect(await run(['tokens', 'list'], io)).toBe(EXIT.signedOut);

    const missing = fakeIo({ route });
    expect(await run(['login', '--local', '--email', 'a@example.com'], missing)).toBe(EXIT.usage);
  });
});
