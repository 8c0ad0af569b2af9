import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READY_MARKER } from '../../local/banner.js';
import { pollUntil, quietFor, scaled } from '../support/time.js';
import {
  linesOf,
  type StackProcess,
  spawnLocalStackOnFreePorts,
  stackTestTimeout,
} from './local-stack-process.js';

// Reliability and security, item 4: no secret leaks. One end-to-end run through `npm start` issues
// and uses many secrets (create, rotate with and without a grace period, edit, revoke, revoke-all,
// failures), then every place the stack writes to is scanned for each of them: the process's
// stdout/stderr, every DynamoDB item, every email in the SES emulator, every audit-event response
// and every error body. Also scanned for: each secret's random part without the prefix, and the
// value of every Authorization header sent (token secrets and management JWTs alike).

interface Body {
  readonly jwt?: string;
  readonly userId?: string;
  readonly id?: string;
  readonly secret?: string;
  readonly revoked?: number;
  readonly nextCursor?: string | null;
  readonly items?: readonly { readonly id: string; readonly type?: string }[];
  readonly authorizer?: { readonly tokenId: string | null };
  readonly error?: { readonly code: string; readonly message: string };
}

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly body: Body | null;
}

let gateway = '';
/** Every secret issued (create and rotate responses). */
const secrets: string[] = [];
/** Every Authorization header value sent. */
const authorizationValues = new Set<string>();
/** The raw text of every response with a status of 400 or more. */
const errorBodies: string[] = [];
/** The raw text of every GET /audit-events response. */
const auditPages: string[] = [];

async function call(
  method: string,
  path: string,
  options: { auth?: string; body?: unknown; rawBody?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.auth !== undefined) {
    headers.authorization = options.auth;
    authorizationValues.add(options.auth);
  }
  let payload: string | undefined;
  if (options.rawBody !== undefined) payload = options.rawBody;
  else if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${gateway}${path}`, {
    method,
    headers,
    ...(payload === undefined ? {} : { body: payload }),
  });
  const text = await response.text();
  if (response.status >= 400) errorBodies.push(text);
  let body: Body | null = null;
  if (text !== '') {
    try {
      body = JSON.parse(text) as Body;
    } catch {
      body = null;
    }
  }
  if (typeof body?.secret === 'string') secrets.push(body.secret);
  return { status: response.status, text, body };
}

async function session(
  email: string,
  role: 'admin' | 'member' | 'viewer',
): Promise<{ jwt: string; userId: string }> {
  const reply = await call('POST', '/_local/session', { body: { email, accountId: 'acme', role } });
  expect(reply.status).toBe(200);
  return { jwt: reply.body?.jwt ?? '', userId: reply.body?.userId ?? '' };
}

async function createToken(
  jwt: string,
  body: Record<string, unknown>,
): Promise<{ id: string; secret: string }> {
  const reply = await call('POST', '/tokens', { auth: `Bearer ${jwt}`, body });
  expect(reply.status, reply.text).toBe(201);
  return { id: reply.body?.id ?? '', secret: reply.body?.secret ?? '' };
}

/** Flips the last character of a token's random part: the same shape, a wrong checksum. */
function altered(secret: string): string {
  const at = secret.length - 10;
  const flipped = secret.charAt(at) === 'A' ? 'B' : 'A';
  return `${secret.slice(0, at)}${flipped}${secret.slice(at + 1)}`;
}

/** Every value that must not appear anywhere, with a label for the failure message. */
function needles(): { label: string; value: string }[] {
  const out: { label: string; value: string }[] = [];
  secrets.forEach((secret, index) => {
    out.push({ label: `secret #${index}`, value: secret });
    const underscore = secret.indexOf('_');
    out.push({ label: `secret #${index} random part`, value: secret.slice(underscore + 1) });
  });
  for (const value of authorizationValues) {
    out.push({ label: `Authorization header ${value.slice(0, 16)}…`, value });
    const credential = value.replace(/^Bearer\s+/i, '');
    if (credential !== value && credential.length >= 8) {
      out.push({ label: `Authorization credential ${credential.slice(0, 12)}…`, value: credential });
    }
  }
  return out;
}

function leaksIn(texts: readonly string[]): string[] {
  const hits: string[] = [];
  for (const { label, value } of needles()) {
    texts.forEach((text, index) => {
      if (text.includes(value)) hits.push(`${label} in #${index}: ${text.slice(0, 300)}`);
    });
  }
  return hits;
}

/** A DynamoDB item as text, binary attributes as UTF-8 and base64 both. */
function itemText(item: Record<string, AttributeValue>): string {
  return JSON.stringify(item, (_key, value: unknown) =>
    value instanceof Uint8Array
      ? `${Buffer.from(value).toString('utf8')} ${Buffer.from(value).toString('base64')}`
      : value,
  );
}

describe('no secret leaks through the local stack', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'atk-secrets-scan-'));
  let stack: StackProcess | undefined;
  let dynamoUrl = '';
  let sesUrl = '';

  beforeAll(async () => {
    const started = await spawnLocalStackOnFreePorts(dataDir);
    stack = started.stack;
    gateway = started.urls.gateway;
    dynamoUrl = started.urls.dynamoDb;
    sesUrl = started.urls.ses;
    await stack.ready;
  }, stackTestTimeout());

  afterAll(() => {
    stack?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'runs the whole lifecycle, then finds no secret in logs, table, emails, audit trail or errors',
    async () => {
      const running = stack;
      if (running === undefined) throw new Error('the stack did not start');
      const ana = await session('ana@example.com', 'member');
      const bob = await session('bob@example.com', 'member');
      const admin = await session('ada@example.com', 'admin');
      const anaAuth = `Bearer ${ana.jwt}`;

      // Several tokens, one limited to this machine's address and one to an address range it is not in.
      const plain = await createToken(ana.jwt, { name: 'plain', scopes: ['reports:read'], expiresInDays: 7 });
      const local = await createToken(ana.jwt, {
        name: 'local only',
        scopes: ['reports:read'],
        expiresInDays: 7,
        allowedIps: ['127.0.0.1'],
      });
      const elsewhere = await createToken(ana.jwt, {
        name: 'elsewhere only',
        scopes: ['reports:read'],
        expiresInDays: 7,
        allowedIps: ['203.0.113.0/24'],
      });
      const graceful = await createToken(ana.jwt, {
        name: 'graceful',
        scopes: ['reports:read'],
        expiresInDays: 7,
      });
      const abrupt = await createToken(ana.jwt, {
        name: 'abrupt',
        scopes: ['reports:read'],
        expiresInDays: 7,
      });
      const edited = await createToken(ana.jwt, {
        name: 'edited',
        scopes: ['reports:read'],
        expiresInDays: 7,
      });
      const bobs = await createToken(bob.jwt, { name: 'bob', scopes: ['reports:read'], expiresInDays: 7 });

      // Used on the demo API: 200, 403 (scope, allowlist), 401 (garbage, altered).
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${plain.secret}` })).status).toBe(200);
      expect((await call('POST', '/demo/reports/x', { auth: `Bearer ${plain.secret}` })).status).toBe(403);
      expect((await call('GET', '/demo/content/x', { auth: `Bearer ${plain.secret}` })).status).toBe(403);
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${local.secret}` })).status).toBe(200);
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${elsewhere.secret}` })).status).toBe(403);
      expect((await call('GET', '/demo/reports/x', { auth: 'Bearer garbage-not-a-token-7Qz' })).status).toBe(
        401,
      );
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${altered(plain.secret)}` })).status).toBe(
        401,
      );
      expect((await call('GET', '/demo/reports/x', { auth: altered(plain.secret) })).status).toBe(401);
      expect((await call('GET', '/tokens', { auth: `Bearer ${altered(ana.jwt)}` })).status).toBe(401);
      expect((await call('GET', '/tokens', { auth: `Bearer ${plain.secret}` })).status).toBe(401);

      // Rotation with a grace period: old and new both work. Without one: the old stops at once.
      const rotatedGrace = await call('POST', `/tokens/${graceful.id}/rotate`, {
        auth: anaAuth,
        body: { gracePeriodSeconds: 3600 },
      });
      expect(rotatedGrace.status, rotatedGrace.text).toBe(201);
      const graceNew = rotatedGrace.body?.secret ?? '';
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${graceful.secret}` })).status).toBe(200);
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${graceNew}` })).status).toBe(200);
      const rotatedAbrupt = await call('POST', `/tokens/${abrupt.id}/rotate`, { auth: anaAuth });
      expect(rotatedAbrupt.status, rotatedAbrupt.text).toBe(201);
      const abruptNew = rotatedAbrupt.body?.secret ?? '';
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${abrupt.secret}` })).status).toBe(401);
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${abruptNew}` })).status).toBe(200);

      // An edit: write scope added, the demo API follows (revocation window 0).
      const patched = await call('PATCH', `/tokens/${edited.id}`, {
        auth: anaAuth,
        body: { name: 'edited twice', scopes: ['reports:read', 'reports:write'] },
      });
      expect(patched.status, patched.text).toBe(200);
      expect((await call('POST', '/demo/reports/x', { auth: `Bearer ${edited.secret}` })).status).toBe(200);

      // A revocation.
      expect((await call('DELETE', `/tokens/${plain.id}`, { auth: anaAuth })).status).toBe(204);
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${plain.secret}` })).status).toBe(401);

      // Failures: invalid bodies (400), another user's token (404), over the per-user limit (409).
      const invalid: unknown[] = [
        { name: 'x', scopes: ['nope:read'] },
        { name: 'x', scopes: ['reports:read'], secret: graceNew },
        { name: 'x', scopes: ['reports:read'], allowedIps: ['not-an-ip'] },
        { name: '', scopes: [] },
      ];
      for (const body of invalid) {
        const reply = await call('POST', '/tokens', { auth: anaAuth, body });
        expect(reply.status, reply.text).toBe(400);
      }
      expect(
        (await call('POST', '/tokens', { auth: anaAuth, rawBody: `{"name": "${abruptNew}"` })).status,
      ).toBe(400);
      const badPatch = await call('PATCH', `/tokens/${edited.id}`, {
        auth: anaAuth,
        body: { secret: abruptNew },
      });
      expect(badPatch.status, badPatch.text).toBe(400);
      const badRotate = await call('POST', `/tokens/${graceful.id}/rotate`, {
        auth: anaAuth,
        body: { gracePeriodSeconds: 999_999 },
      });
      expect(badRotate.status, badRotate.text).toBe(400);
      expect((await call('GET', `/tokens/${bobs.id}`, { auth: anaAuth })).status).toBe(404);
      expect((await call('DELETE', `/tokens/${bobs.id}`, { auth: anaAuth })).status).toBe(404);
      expect((await call('POST', `/tokens/${bobs.id}/rotate`, { auth: anaAuth })).status).toBe(404);
      for (let index = 1; index < 10; index += 1) {
        await createToken(bob.jwt, { name: `bob ${index}`, scopes: ['reports:read'], expiresInDays: 7 });
      }
      const overLimit = await call('POST', '/tokens', {
        auth: `Bearer ${bob.jwt}`,
        body: { name: 'one too many', scopes: ['reports:read'], expiresInDays: 7 },
      });
      expect(overLimit.status, overLimit.text).toBe(409);

      // Revoke-all for a user (by an admin), then bob's token is refused.
      const revokeAll = await call('DELETE', `/tokens?userId=${encodeURIComponent(bob.userId)}`, {
        auth: `Bearer ${admin.jwt}`,
      });
      expect(revokeAll.status, revokeAll.text).toBe(200);
      expect(revokeAll.body?.revoked).toBe(10);
      expect((await call('GET', '/demo/reports/x', { auth: `Bearer ${bobs.secret}` })).status).toBe(401);

      // The audit trail: every page the admin (whole account) and ana (her own) can read.
      let auditEvents = 0;
      for (const jwt of [admin.jwt, ana.jwt]) {
        let cursor: string | null | undefined;
        do {
          const query =
            cursor === undefined || cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
          const page = await call('GET', `/audit-events?limit=50${query}`, { auth: `Bearer ${jwt}` });
          expect(page.status, page.text).toBe(200);
          auditPages.push(page.text);
          auditEvents += page.body?.items?.length ?? 0;
          cursor = page.body?.nextCursor;
        } while (cursor !== undefined && cursor !== null);
      }
      expect(auditEvents).toBeGreaterThanOrEqual(20);

      // Emails: every created token gets one; wait until the store has them all, then let late ones land.
      const storedEmails = async () =>
        ((await (await fetch(`${sesUrl}/store`)).json()) as { emails: unknown[] }).emails.map((email) =>
          JSON.stringify(email),
        );
      await pollUntil(storedEmails, (stored) => stored.length >= 16);
      await quietFor(1_500);
      const emails = await storedEmails();
      expect(emails.length).toBeGreaterThanOrEqual(16);

      // Every DynamoDB item (the table name is in the banner).
      const tableName = /table (\S+), data in/.exec(running.output())?.[1];
      if (tableName === undefined) throw new Error(`no table name in the banner:\n${running.output()}`);
      const dynamo = new DynamoDBClient({
        endpoint: dynamoUrl,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const items: string[] = [];
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await dynamo.send(
          new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }),
        );
        for (const item of page.Items ?? []) items.push(itemText(item));
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
      dynamo.destroy();
      expect(items.length).toBeGreaterThan(20);

      // Every line the process wrote, after a moment for the stream poller's last lines.
      await new Promise((wait) => setTimeout(wait, 500));
      const output = running.output();
      const lines = linesOf(output);
      const bannerStart = lines.findIndex((line) => line.startsWith(READY_MARKER));
      const bannerEnd = lines.indexOf('Press Ctrl-C to stop.');
      expect(bannerStart).toBeGreaterThanOrEqual(0);
      const logLines = lines.filter((_line, index) => index < bannerStart || index > bannerEnd);

      // Positive controls: the scanned texts are the real ones (ids, names and requests are in them).
      expect(items.some((item) => item.includes(plain.id))).toBe(true);
      expect(emails.some((email) => email.includes('graceful'))).toBe(true);
      expect(auditPages.some((page) => page.includes(abrupt.id))).toBe(true);
      expect(logLines.some((line) => line.includes('/demo/reports/x'))).toBe(true);
      expect(leaksIn([`x ${graceNew} x`])).not.toEqual([]);
      expect(errorBodies.length).toBeGreaterThan(10);
      expect(authorizationValues.size).toBeGreaterThan(10);

      expect(secrets).toHaveLength(7 + 2 + 9);
      expect(new Set(secrets).size).toBe(secrets.length);
      expect(leaksIn(lines), 'log lines').toEqual([]);
      expect(leaksIn(items), 'DynamoDB items').toEqual([]);
      expect(leaksIn(emails), 'emails').toEqual([]);
      expect(leaksIn(auditPages), 'audit-event responses').toEqual([]);
      expect(leaksIn(errorBodies), 'error bodies').toEqual([]);
      // Event logging stays off: no log line (the banner's curl examples aside) names an Authorization header.
      expect(logLines.filter((line) => /authorization/i.test(line))).toEqual([]);
    },
    scaled(180_000),
  );
});
