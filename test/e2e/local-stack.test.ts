import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertPortFree, findFreePort } from '../../local/emulators.js';
import { pollUntil, scaled } from '../support/time.js';
import { linesOf, type StackProcess, spawnLocalStack, stackTestTimeout } from './local-stack-process.js';

// `npm start` end to end: the real process (node --import tsx bin/local.ts) with DynamoDB Local, the SES
// emulator and the gateway on free ports and a temporary data directory, driven with fetch the way
// the README's walkthrough drives it with curl.

/** The fields these tests read from JSON bodies (each response has some of them). */
interface Body {
  readonly jwt?: string;
  readonly id?: string;
  readonly secret?: string;
  readonly items?: readonly { readonly id: string }[];
  readonly authorizer?: { readonly tokenId: string | null };
  readonly error?: { readonly code: string; readonly message: string };
}

interface Reply {
  readonly status: number;
  readonly body: Body | null;
}

let gateway = '';

/** Runs a script in bash the way a reader pastes the banner's commands into a terminal. */
function runShell(script: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

async function call(
  method: string,
  path: string,
  options: { auth?: string; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.auth !== undefined) headers.authorization = options.auth;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${gateway}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : (JSON.parse(text) as Body) };
}

async function session(email: string, role: 'admin' | 'member' | 'viewer'): Promise<string> {
  const reply = await call('POST', '/_local/session', { body: { email, accountId: 'acme', role } });
  expect(reply.status).toBe(200);
  return reply.body?.jwt ?? '';
}

async function createToken(
  jwt: string,
  name: string,
  scopes: readonly string[] = ['reports:read'],
): Promise<{ id: string; secret: string }> {
  const reply = await call('POST', '/tokens', {
    auth: `Bearer ${jwt}`,
    body: { name, scopes, expiresInDays: 7 },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return { id: reply.body?.id ?? '', secret: reply.body?.secret ?? '' };
}

interface StoredEmail {
  readonly destination?: { readonly to?: readonly string[] };
  readonly subject?: string;
  readonly body?: { readonly text?: string; readonly html?: string };
}

async function waitForEmails(ses: string, recipient: string, count: number): Promise<string[]> {
  const mine = await pollUntil(
    async () => {
      const store = (await (await fetch(`${ses}/store`)).json()) as { emails: StoredEmail[] };
      return store.emails.filter((email) => email.destination?.to?.includes(recipient));
    },
    (emails) => emails.length >= count,
  );
  for (const email of mine) {
    expect(`${email.body?.text ?? ''}${email.body?.html ?? ''}`).not.toMatch(/atk_[0-9A-Za-z]{49}/);
  }
  const subjects = mine.map((email) => email.subject ?? '');
  expect(subjects.length, `emails to ${recipient}: ${subjects.join(' | ')}`).toBeGreaterThanOrEqual(count);
  return subjects;
}

describe('npm start (the local stack)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'atk-local-e2e-'));
  let env: Record<string, string> = {};
  let ports: number[] = [];
  let stack: StackProcess | undefined;
  let memberJwt = '';
  let firstTokenId = '';
  /** An active token made before the restart: it must still work after it. */
  let keptSecret = '';

  beforeAll(async () => {
    ports = [await findFreePort(), await findFreePort(), await findFreePort()];
    const [gatewayPort, dynamoPort, sesPort] = ports.map(String);
    env = {
      LOCAL_GATEWAY_PORT: gatewayPort ?? '',
      LOCAL_DYNAMODB_PORT: dynamoPort ?? '',
      LOCAL_SES_PORT: sesPort ?? '',
      LOCAL_DATA_DIR: dataDir,
      LOCAL_REVOCATION_WINDOW_SECONDS: '',
    };
    gateway = `http://127.0.0.1:${gatewayPort}`;
  });

  afterAll(() => {
    stack?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'a port already taken: exit code 1 and one line naming the env var to change',
    async () => {
      const blocker: Server = createServer();
      const taken = await findFreePort();
      await new Promise<void>((resolveListen) => blocker.listen(taken, '127.0.0.1', resolveListen));
      try {
        const failed = spawnLocalStack({ ...env, LOCAL_SES_PORT: String(taken) });
        const { code } = await failed.exited;
        expect(code).toBe(1);
        const lines = linesOf(failed.output());
        expect(lines, failed.output()).toHaveLength(1);
        expect(lines[0]).toContain('LOCAL_SES_PORT');
        expect(lines[0]).toContain(String(taken));
      } finally {
        blocker.close();
      }
    },
    stackTestTimeout(),
  );

  it(
    'comes up and prints the URLs and a curl example',
    async () => {
      stack = spawnLocalStack(env);
      await stack.ready;
      const output = stack.output();
      expect(output).toContain(gateway);
      expect(output).toContain(`http://127.0.0.1:${ports[1]}`);
      expect(output).toContain(`http://127.0.0.1:${ports[2]}`);
      expect(output).toContain('curl');
      expect(output).toMatch(/Revocation window: 0 s/);
    },
    stackTestTimeout(),
  );

  it(
    'the "Try it" commands work pasted into a shell: the demo API accepts the token, /verify says VALID',
    async () => {
      const banner = stack?.output() ?? '';
      const tryIt = banner.slice(
        banner.indexOf('Try it (paste into a shell):'),
        banner.indexOf('Press Ctrl-C'),
      );
      const commands = linesOf(tryIt).slice(1);
      expect(commands.length).toBeGreaterThanOrEqual(5);
      // Each command's answer on its own line, so each can be checked.
      const script = ['set -euo pipefail', ...commands.flatMap((command) => [command, 'echo'])].join('\n');
      const { stdout } = await runShell(script);
      const answers = linesOf(stdout);
      expect(answers, stdout).toHaveLength(3);
      const [demo, list, verify] = answers.map((answer) => JSON.parse(answer) as Record<string, unknown>);
      expect(demo).toMatchObject({ authorizer: { tokenId: expect.stringMatching(/^tok_/) } });
      expect(list).toMatchObject({ items: [expect.objectContaining({ name: 'my first token' })] });
      expect(verify).toMatchObject({ valid: true });
      expect(stdout).not.toMatch(/atk_[0-9A-Za-z]{49}/);
    },
    stackTestTimeout(),
  );

  it('walks the README flow: session, token, accepted, refused, revoked', async () => {
    memberJwt = await session('ana@example.com', 'member');
    const token = await createToken(memberJwt, 'e2e reports');
    firstTokenId = token.id;
    const bearer = `Bearer ${token.secret}`;

    const accepted = await call('GET', '/demo/reports/x', { auth: bearer });
    expect(accepted.status).toBe(200);
    expect(accepted.body?.authorizer?.tokenId).toBe(token.id);

    const write = await call('POST', '/demo/reports/x', { auth: bearer });
    expect(write).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    const otherArea = await call('GET', '/demo/content/x', { auth: bearer });
    expect(otherArea).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });

    expect((await call('DELETE', `/tokens/${token.id}`, { auth: `Bearer ${memberJwt}` })).status).toBe(204);
    const revoked = await call('GET', '/demo/reports/x', { auth: bearer });
    expect(revoked).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });

    // The stream poller feeds the notifier: the creation and revocation emails reach the SES emulator.
    const ses = `http://127.0.0.1:${ports[2]}`;
    const subjects = await waitForEmails(ses, 'ana@example.com', 2);
    expect(subjects.join(' | ')).toMatch(/created/i);
    expect(subjects.join(' | ')).toMatch(/revoked/i);
    expect(JSON.stringify(subjects)).not.toContain(token.secret);

    keptSecret = (await createToken(memberJwt, 'e2e kept across a restart')).secret;
    expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${keptSecret}` })).status).toBe(200);
  });

  it('a viewer cannot create tokens', async () => {
    const viewerJwt = await session('vic@example.com', 'viewer');
    const reply = await call('POST', '/tokens', {
      auth: `Bearer ${viewerJwt}`,
      body: { name: 'nope', scopes: ['reports:read'] },
    });
    expect(reply).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
  });

  it('a missing or garbage Authorization header is a 401; an unknown route a 404', async () => {
    for (const path of ['/tokens', '/demo/reports/x']) {
      expect(await call('GET', path)).toMatchObject({
        status: 401,
        body: { error: { code: 'UNAUTHORIZED' } },
      });
      expect(await call('GET', path, { auth: 'Bearer garbage' })).toMatchObject({ status: 401 });
    }
    expect(await call('GET', '/nowhere')).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
  });

  it(
    'Ctrl-C stops everything: exit code 0 and every port free again',
    async () => {
      const running = stack;
      if (running === undefined) throw new Error('the stack did not start');
      running.interrupt();
      const { code } = await running.exited;
      expect(code, running.output()).toBe(0);
      await assertPortFree(ports[0] ?? 0, 'LOCAL_GATEWAY_PORT');
      await assertPortFree(ports[1] ?? 0, 'LOCAL_DYNAMODB_PORT');
      await assertPortFree(ports[2] ?? 0, 'LOCAL_SES_PORT');
    },
    scaled(60_000),
  );

  it(
    'a restart on the same data keeps tokens and sessions; a revocation window emulates the cache',
    async () => {
      stack = spawnLocalStack({ ...env, LOCAL_REVOCATION_WINDOW_SECONDS: '30' });
      await stack.ready;
      expect(stack.output()).toMatch(/Revocation window: 30 s/);

      // The JWT from before the restart still verifies: the dev identity key is kept in the data dir.
      const listed = await call('GET', '/tokens', { auth: `Bearer ${memberJwt}` });
      expect(listed.status).toBe(200);
      expect(listed.body?.items?.map((item) => item.id)).toContain(firstTokenId);
      // A token from before the restart still passes the demo API: the usage-plan emulator's state
      // went with the old process, and the start gave every active token its gateway key again.
      expect(stack.output()).toMatch(/usage keys: \d+ active token\(s\) given their key again/);
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${keptSecret}` })).status).toBe(200);

      const token = await createToken(memberJwt, 'e2e cached', ['reports:read', 'content:read']);
      const bearer = `Bearer ${token.secret}`;
      expect((await call('GET', '/demo/reports/x', { auth: bearer })).status).toBe(200);
      const narrowed = await call('PATCH', `/tokens/${token.id}`, {
        auth: `Bearer ${memberJwt}`,
        body: { scopes: ['reports:read'] },
      });
      expect(narrowed.status, JSON.stringify(narrowed.body)).toBe(200);
      // API Gateway's cached Allow still answers within the window, on any path the old policy allows.
      const cached = await call('GET', '/demo/content/y', { auth: bearer });
      expect(cached.status).toBe(200);
      expect(cached.body?.authorizer?.tokenId).toBe(token.id);

      // A revocation does not wait for the window on the demo API: the usage-key consumer deletes the
      // token's gateway key (docs/rate-limits.md), and a request with the cached Allow then finds no key.
      expect((await call('DELETE', `/tokens/${token.id}`, { auth: `Bearer ${memberJwt}` })).status).toBe(204);
      const afterRevoke = await pollUntil(
        () => call('GET', '/demo/reports/z', { auth: bearer }),
        (reply) => reply.status !== 200,
      );
      expect(afterRevoke.status).toBe(503);
      expect(afterRevoke.body?.error?.code).toBe('TOKEN_NOT_READY');

      stack.interrupt();
      expect((await stack.exited).code).toBe(0);
    },
    stackTestTimeout(),
  );
});
