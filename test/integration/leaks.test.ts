import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESClient } from '@aws-sdk/client-ses';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoIdempotencyStore } from '../../lambdas/adapters/idempotency-store.js';
import { SesMailer } from '../../lambdas/adapters/ses-mailer.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import { type ManagementRouteName, routeNamed } from '../../lambdas/contract/routes.js';
import type { CallerContext } from '../../lambdas/core/caller-context.js';
import { sha256Hex } from '../../lambdas/core/leaks.js';
import { systemClock } from '../../lambdas/core/ports.js';
import { generateToken } from '../../lambdas/core/token-format.js';
import type { RouteHandler } from '../../lambdas/http/route-handler.js';
import { createStreamNotifier } from '../../lambdas/notifier/stream-notifier.js';
import { type StreamPoller, startStreamPoller } from '../../local/stream-poller.js';
import { createTestTable, dynamoEndpoint, LOCAL_CREDENTIALS, type TestTable } from '../support/dynamo.js';
import { managementDeps, managementRoutes } from '../support/management-deps.js';
import {
  type InvokeResult,
  invoke,
  memberContext,
  type ProxyEventOptions,
  proxyEvent,
} from '../support/proxy-events.js';
import { pollUntil, quietFor } from '../support/time.js';

// Leaked tokens end to end on DynamoDB Local and the SES emulator (docs/leaks.md): the real route
// handlers, GitHub's signed reports with keys this file generates and a key endpoint it serves on
// 127.0.0.1, the table's stream read by the local stream poller into the notifier. The emulator is
// shared with other files, so this one reads only emails to its own addresses.

const SENDER = 'no-reply@example.com';
const TYPE = 'access_tokens';

interface StoredEmail {
  readonly destination: { readonly to: string[] };
  readonly subject: string;
  readonly body: { readonly text?: string; readonly html?: string };
}

async function emailsTo(address: string): Promise<StoredEmail[]> {
  const response = await fetch(`${inject('sesEndpoint')}/store`);
  const { emails } = (await response.json()) as { emails: StoredEmail[] };
  return emails.filter((email) => email.destination.to.includes(address));
}

const leakEmailsTo = async (address: string) =>
  (await emailsTo(address)).filter((email) => email.subject.includes('found in public'));

function ecKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** GitHub's key, and another key GitHub also lists (the wrong key for a report signed by the first). */
const github = ecKey();
const other = ecKey();
const KEY_ID = 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c';
const OTHER_KEY_ID = '90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a';

const sign = (body: string, key = github.privateKey) =>
  createSign('sha256').update(body).sign(key).toString('base64');

const secrets: string[] = [];
const uniqueAddress = (label: string) => `${label}-${randomUUID()}@leaks.test`;

describe('leaked tokens on DynamoDB Local and the SES emulator', () => {
  let table: TestTable;
  let poller: StreamPoller;
  let keyServer: Server;
  let keyRequests = 0;
  let routes: Record<ManagementRouteName, RouteHandler>;
  let auditLog: ReturnType<typeof managementDeps>['auditLog'];

  beforeAll(async () => {
    table = await createTestTable();
    keyServer = createServer((_request, response) => {
      keyRequests += 1;
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          public_keys: [
            { key_identifier: OTHER_KEY_ID, key: other.pem, is_current: false },
            { key_identifier: KEY_ID, key: github.pem, is_current: true },
          ],
        }),
      );
    });
    await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
    const { port } = keyServer.address() as AddressInfo;
    const deps = managementDeps({
      tableName: table.tableName,
      dynamoEndpoint: dynamoEndpoint(),
      policy: { leaksPublicKeysUrl: `http://127.0.0.1:${port}/meta/public_keys/secret_scanning` },
    });
    routes = managementRoutes(deps);
    auditLog = deps.auditLog;
    const notify = createStreamNotifier({
      mailer: new SesMailer(
        new SESClient({
          endpoint: inject('sesEndpoint'),
          region: 'us-east-1',
          credentials: LOCAL_CREDENTIALS,
        }),
        { senderAddress: SENDER },
      ),
      store: new DynamoIdempotencyStore(table.documentClient, table.tableName),
      clock: systemClock,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 100,
      retryDelayMs: 200,
      handler: (event) => notify(event),
      onError: () => undefined,
    });
  });

  afterAll(async () => {
    await poller?.stop();
    await table?.drop();
    await new Promise((resolve) => keyServer?.close(resolve));
  });

  async function call(name: ManagementRouteName, request: Omit<ProxyEventOptions, 'method' | 'resource'>) {
    const route = routeNamed(name);
    return invoke(routes[name], proxyEvent({ method: route.method, resource: route.path, ...request }));
  }

  /** A report as GitHub posts it: no JWT, the two signature headers, the raw body. */
  function postReport(
    body: string,
    headers: Record<string, string>,
    options: Partial<ProxyEventOptions> = {},
  ): Promise<InvokeResult> {
    return call('reportLeaks', {
      caller: null,
      body,
      headers,
      sourceIp: '192.30.252.40',
      userAgent: 'GitHub-Secret-Scanning',
      ...options,
    });
  }
  const signed = (body: string, keyId = KEY_ID, signature = sign(body)) => ({
    'Github-Public-Key-Identifier': keyId,
    'Github-Public-Key-Signature': signature,
  });

  async function createToken(owner: CallerContext): Promise<{ id: string; secret: string }> {
    const result = await call('createToken', {
      caller: owner,
      body: { name: 'deploy key', scopes: ['content:read'] },
    });
    expect(result.status, result.rawBody).toBe(201);
    const created = result.json as { id: string; secret: string };
    secrets.push(created.secret);
    return created;
  }

  const owner = (overrides: Partial<CallerContext> = {}) =>
    memberContext({ userId: `user-${randomUUID()}`, email: uniqueAddress('owner'), ...overrides });

  async function stored(tokenId: string) {
    const read = async (key: Record<string, string>) =>
      (
        await table.documentClient.send(
          new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
        )
      ).Item;
    const token = await read(KEYS.token(tokenId));
    const credential =
      token === undefined ? undefined : await read(KEYS.credential(String(token.secretHash)));
    return { token, credential };
  }

  const report = (entries: Array<{ token: string; url?: string; source?: string }>) =>
    JSON.stringify(entries.map((entry) => ({ source: 'content', type: TYPE, url: '', ...entry })));

  it('a validly signed report → revoked, audited as secret scanning, emailed once, true_positive; delivered again changes nothing', async () => {
    const alice = owner();
    const { id, secret } = await createToken(alice);
    const url = `https://github.com/octo/app/blob/${randomUUID()}/config.yml`;
    const body = report([{ token: secret, url, source: 'commit' }]);

    const result = await postReport(body, signed(body));
    expect(result.status, result.rawBody).toBe(200);
    expect(result.json).toEqual([
      { token_hash: sha256Hex(secret), token_type: TYPE, label: 'true_positive' },
    ]);

    const after = await stored(id);
    expect(after.token?.state).toBe('revoked');
    expect(after.credential?.state).toBe('revoked');
    const events = await auditLog.list({ kind: 'token', tokenId: id }, { limit: 10, cursor: undefined });
    const revoked = events.items.find((event) => event.action === 'token.revoked');
    expect(revoked?.actor).toEqual({
      userId: null,
      role: null,
      sourceIp: '192.30.252.40',
      userAgent: 'GitHub-Secret-Scanning',
    });
    expect(revoked?.details).toMatchObject({ reportedBy: 'secret scanning', url, source: 'commit' });

    const [email, ...more] = await pollUntil(
      () => leakEmailsTo(alice.email),
      (emails) => emails.length > 0,
    );
    expect(more).toEqual([]);
    expect(email?.subject).toBe('[Access Tokens] Access token "deploy key" was found in public and revoked');
    expect(email?.body.text).toContain(`found in public at ${url}, reported by GitHub secret scanning`);
    expect(email?.body.text).toContain('What to do next');

    // GitHub delivers again (a retry): the same answer, nothing written, no second email.
    const again = await postReport(body, signed(body));
    expect(again.status).toBe(200);
    expect(again.json).toEqual(result.json);
    expect(await stored(id)).toEqual(after);
    await quietFor(1500);
    expect(await leakEmailsTo(alice.email)).toHaveLength(1);
  });

  it('a body API Gateway hands over as base64 is verified over its bytes', async () => {
    const { id, secret } = await createToken(owner());
    const body = report([
      { token: secret, url: 'https://github.com/o/r/issues/1#ünïcode', source: 'issue_comment' },
    ]);
    const result = await postReport(Buffer.from(body, 'utf8').toString('base64'), signed(body), {
      isBase64Encoded: true,
    });
    expect(result.status, result.rawBody).toBe(200);
    expect((await stored(id)).token?.state).toBe('revoked');
  });

  it('an unknown token, garbage and a token its owner had revoked → false_positive, nothing changed', async () => {
    const bob = owner();
    const { id, secret } = await createToken(bob);
    expect((await call('revokeToken', { caller: bob, pathParameters: { id } })).status).toBe(204);
    const before = await stored(id);
    // Well-formed (prefix, checksum), never issued: it is looked up and not found.
    const unknown = generateToken('atk').secret;
    const body = report([{ token: secret }, { token: unknown }, { token: 'ghp_notours' }]);
    const result = await postReport(body, signed(body));
    expect(result.status).toBe(200);
    expect(result.json).toEqual([
      { token_hash: sha256Hex(secret), token_type: TYPE, label: 'false_positive' },
      { token_hash: sha256Hex(unknown), token_type: TYPE, label: 'false_positive' },
      { token_hash: sha256Hex('ghp_notours'), token_type: TYPE, label: 'false_positive' },
    ]);
    expect(await stored(id)).toEqual(before);
  });

  it('a tampered body, the wrong key id, an unknown key id, a replayed signature or none → 401, nothing changed', async () => {
    const carol = owner();
    const { id, secret } = await createToken(carol);
    const before = await stored(id);
    const body = report([{ token: secret, url: 'https://github.com/o/r' }]);
    const tampered = body.replace('https://github.com/o/r', 'https://github.com/o/x');
    const otherBody = report([{ token: 'atk_whatever' }]);
    const cases: Array<[string, string, Record<string, string>]> = [
      ['tampered body', tampered, signed(body, KEY_ID, sign(body))],
      ['wrong key id (another listed key)', body, signed(body, OTHER_KEY_ID)],
      ['unknown key id', body, signed(body, 'f'.repeat(64))],
      ['replay of a signature over another body', body, signed(body, KEY_ID, sign(otherBody))],
      ['signed by a key GitHub does not have', body, signed(body, KEY_ID, sign(body, ecKey().privateKey))],
      ['no signature', body, { 'Github-Public-Key-Identifier': KEY_ID }],
      ['no headers', body, {}],
    ];
    for (const [label, sent, headers] of cases) {
      const result = await postReport(sent, headers);
      expect(result.status, label).toBe(401);
      expect((result.json as { error: { code: string } }).error.code, label).toBe('UNAUTHORIZED');
      expect(result.rawBody, label).not.toContain(secret);
    }
    expect(await stored(id)).toEqual(before);
    // One fetch of the keys for the whole file, plus at most one refetch for the unknown id.
    expect(keyRequests).toBeLessThanOrEqual(2);
  });

  it('many matches in one report are all revoked in one request', async () => {
    const created = [];
    for (let user = 0; user < 8; user++) {
      const someone = owner();
      for (let token = 0; token < 5; token++) created.push(await createToken(someone));
    }
    const body = report(
      created.map((token) => ({ token: token.secret, url: 'https://github.com/o/r/blob/1/dump.txt' })),
    );
    const result = await postReport(body, signed(body));
    expect(result.status).toBe(200);
    expect((result.json as Array<{ label: string }>).every((entry) => entry.label === 'true_positive')).toBe(
      true,
    );
    for (const token of created) expect((await stored(token.id)).token?.state).toBe('revoked');
  });

  describe('POST /leaks (signed-in users, own account only)', () => {
    it('any role of the account reports a token of a colleague: revoked with the url, then already_inactive', async () => {
      const dave = owner({ accountId: 'acct-leaks' });
      const { id, secret } = await createToken(dave);
      const viewer = owner({ accountId: 'acct-leaks', role: 'viewer' });
      const url = 'https://pastebin.example/abc';
      const first = await call('reportLeak', {
        caller: viewer,
        body: { token: secret, url, source: 'a paste site' },
      });
      expect(first.status, first.rawBody).toBe(200);
      expect(first.json).toEqual({ tokenId: id, outcome: 'revoked' });
      const events = await auditLog.list({ kind: 'token', tokenId: id }, { limit: 10, cursor: undefined });
      expect(events.items.find((event) => event.action === 'token.revoked')).toMatchObject({
        actor: { userId: viewer.userId, role: 'viewer' },
        details: { reportedBy: 'user', url, source: 'a paste site' },
      });
      const [email] = await pollUntil(
        () => leakEmailsTo(dave.email),
        (emails) => emails.length > 0,
      );
      expect(email?.body.text).toContain(`found in public at ${url}, reported by a user of your account`);

      const again = await call('reportLeak', { caller: viewer, body: { token: secret } });
      expect(again.json).toEqual({ tokenId: id, outcome: 'already_inactive' });
    });

    it("another account's token, an unknown one or garbage → the same 404, nothing changed", async () => {
      const erin = owner({ accountId: 'acct-leaks-2' });
      const { id, secret } = await createToken(erin);
      const before = await stored(id);
      const stranger = owner({ accountId: 'acct-leaks-3', role: 'admin' });
      const answers = [];
      for (const token of [secret, generateToken('atk').secret, 'not a token']) {
        const result = await call('reportLeak', { caller: stranger, body: { token } });
        expect(result.status).toBe(404);
        expect(result.rawBody).not.toContain(token);
        answers.push(result.json);
      }
      expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
      expect(await stored(id)).toEqual(before);
    });
  });

  it('no email sent by this file contains a secret', async () => {
    for (const address of new Set(
      (
        (await fetch(`${inject('sesEndpoint')}/store`).then((r) => r.json())) as { emails: StoredEmail[] }
      ).emails
        .flatMap((email) => email.destination.to)
        .filter((to) => to.endsWith('@leaks.test')),
    )) {
      for (const email of await emailsTo(address)) {
        for (const secret of secrets) expect(JSON.stringify(email)).not.toContain(secret);
      }
    }
  });
});
