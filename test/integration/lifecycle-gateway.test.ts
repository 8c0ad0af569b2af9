import { randomUUID } from 'node:crypto';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayAuthorizerResult, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import type { ManagementRouteName } from '../../lambdas/contract/routes.js';
import type { CallerContext } from '../../lambdas/core/caller-context.js';
import type { AuditEvent, TokenView } from '../../lambdas/core/model.js';
import { secretScannerPattern } from '../../lambdas/core/token-format.js';
import { ENV } from '../../lambdas/runtime/env.js';
import type { TokenAuthorizerResult } from '../../lambdas/token-authorizer/gateway.js';
import { type StreamPoller, startStreamPoller } from '../../local/stream-poller.js';
import {
  lambdaContext as authorizerContext,
  captureStdout,
  evaluatePolicy,
  methodArn,
  restRequestEvent,
  type StdoutCapture,
} from '../support/authorizer-events.js';
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { stubHandlerEnv } from '../support/env.js';
import { type ManagementClient, managementClient, type RouteRequest } from '../support/management-client.js';
import {
  adminContext,
  expectContractError,
  memberContext,
  lambdaContext as proxyLambdaContext,
} from '../support/proxy-events.js';
import { pollUntil, quietFor } from '../support/time.js';

// The lifecycle issue's acceptance tests, end to end: the real management handlers write to
// DynamoDB Local, the real token authorizer handler decides on what they wrote (no authorizer
// cache anywhere in this process: revocation window 0), and the table's stream goes through the
// local stream poller to the real notifier handler, which sends through the SES emulator. The
// emulator is shared with the other test files, so this file reads only emails to its own addresses.

type CreatedView = TokenView & { secret: string };
type AuthorizerHandler = (
  event: unknown,
  context: ReturnType<typeof authorizerContext>,
) => Promise<TokenAuthorizerResult>;
type NotifierHandler = (
  event: DynamoDBStreamEvent,
  context: ReturnType<typeof proxyLambdaContext>,
) => Promise<DynamoDBBatchResponse>;

const SENDER = 'no-reply@example.com';
const BASE_PATH = '/demo';
const SUBJECT = {
  created: (name: string) => `[Access Tokens] New access token "${name}" created`,
  rotated: (name: string) => `[Access Tokens] Access token "${name}" was rotated`,
  revoked: (name: string) => `[Access Tokens] Access token "${name}" was revoked`,
};

// --- SES emulator ----------------------------------------------------------------------------------

interface StoredEmail {
  readonly messageId: string;
  readonly from: string;
  readonly destination: { readonly to: string[] };
  readonly subject: string;
  readonly body: { readonly text?: string; readonly html?: string };
}

async function storedEmails(): Promise<StoredEmail[]> {
  const response = await fetch(`${inject('sesEndpoint')}/store`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails;
}

async function emailsTo(address: string): Promise<StoredEmail[]> {
  return (await storedEmails()).filter((email) => email.destination.to.includes(address));
}

/** Waits for `count` emails to the address, then a little longer for anything more. */
async function emailsSettled(address: string, count: number, quietMs = 1500): Promise<StoredEmail[]> {
  await pollUntil(
    () => emailsTo(address),
    (emails) => emails.length >= count,
  );
  await quietFor(quietMs);
  return emailsTo(address);
}

const addresses: string[] = [];
function member(userId: string, accountId: string): CallerContext {
  const email = `${userId}-${randomUUID()}@lifecycle-gateway.test`;
  addresses.push(email);
  return memberContext({ userId, accountId, email });
}

// --- The test -------------------------------------------------------------------------------------

describe('token lifecycle through the management API, the token authorizer and the notifier', () => {
  let table: TestTable;
  let poller: StreamPoller;
  let authorizer: AuthorizerHandler;
  let logs: StdoutCapture;
  let client: ManagementClient;
  const pollerErrors: unknown[] = [];
  /** Every secret issued here: none may appear in an audit response, an item, an email or a log line. */
  const secrets: string[] = [];
  /** Every audit response body received. */
  const auditBodies: string[] = [];

  beforeAll(async () => {
    table = await createTestTable();
    stubHandlerEnv({
      tableName: table.tableName,
      dynamoEndpoint: dynamoEndpoint(),
      // No cache anywhere: the authorizer handler is called directly, as with a gateway cache TTL of 0.
      policy: { revocationWindowSeconds: 0 },
      extra: {
        AWS_ENDPOINT_URL_SES: inject('sesEndpoint'),
        [ENV.notificationSenderAddress]: SENDER,
        [ENV.authorizerBasePath]: BASE_PATH,
      },
    });
    client = await managementClient();
    authorizer = (await import('../../lambdas/token-authorizer/handler.js'))
      .handler as unknown as AuthorizerHandler;
    const notifier = (await import('../../lambdas/notifier/handler.js'))
      .handler as unknown as NotifierHandler;
    // Started before any write: the poller reads the stream from LATEST.
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 100,
      retryDelayMs: 200,
      handler: (event) =>
        notifier(event, { ...proxyLambdaContext(), getRemainingTimeInMillis: () => 300_000 }),
      onError: (error) => pollerErrors.push(error),
    });
    logs = captureStdout();
  });

  afterAll(async () => {
    vi.useRealTimers();
    logs.restore();
    await poller.stop();
    vi.unstubAllEnvs();
    await table.drop();
  });

  // --- management API ---

  const call = (name: ManagementRouteName, request: RouteRequest) => client.call(name, request);

  async function create(caller: CallerContext, body: object = {}): Promise<CreatedView> {
    const result = await call('createToken', {
      caller,
      body: { name: 'gateway', scopes: ['content:read'], ...body },
    });
    expect(result.status).toBe(201);
    const created = result.json as CreatedView;
    secrets.push(created.secret);
    return created;
  }
  async function rotate(caller: CallerContext, id: string, gracePeriodSeconds: number): Promise<CreatedView> {
    const result = await call('rotateToken', {
      pathParameters: { id },
      caller,
      body: { gracePeriodSeconds },
    });
    expect(result.status).toBe(201);
    const rotated = result.json as CreatedView;
    secrets.push(rotated.secret);
    return rotated;
  }
  const patch = (caller: CallerContext, id: string, body: object) =>
    call('updateToken', { pathParameters: { id }, caller, body });
  const revokeAll = (caller: CallerContext) => call('revokeAllTokens', { caller });
  const setAccess = (caller: CallerContext, userId: string, enabled: boolean) =>
    call('setUserTokenAccess', {
      pathParameters: { userId },
      caller,
      body: { enabled },
    });
  async function auditOf(caller: CallerContext, query: Record<string, string> = {}): Promise<AuditEvent[]> {
    const result = await call('listAuditEvents', { caller, query });
    expect(result.status).toBe(200);
    auditBodies.push(result.rawBody);
    const page = result.json as { items: AuditEvent[]; nextCursor: string | null };
    expect(page.nextCursor).toBeNull();
    return page.items;
  }
  async function item(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const { Item } = await table.documentClient.send(
      new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  // --- the gateway ---

  interface GatewayOutcome {
    /** What API Gateway answers: 200 when the integration runs. */
    readonly status: 200 | 401 | 403;
    /** The reason the authorizer logged for this decision. */
    readonly reason: unknown;
  }

  const decisionLines = () => logs.records().filter((line) => line.message === 'token authorizer decision');

  /** A REST request through the token authorizer, as API Gateway would evaluate its answer. */
  async function gateway(
    secret: string,
    method = 'GET',
    path = '/demo/content/items',
  ): Promise<GatewayOutcome> {
    const before = decisionLines().length;
    const event = restRequestEvent({ authorization: `Bearer ${secret}`, method, path, basePath: BASE_PATH });
    let status: GatewayOutcome['status'];
    try {
      const result = (await authorizer(event, authorizerContext())) as APIGatewayAuthorizerResult;
      status = evaluatePolicy(result, methodArn(method, path)) === 'allow' ? 200 : 403;
    } catch (error) {
      expect(error).toMatchObject({ message: 'Unauthorized' });
      status = 401;
    }
    const decisions = decisionLines().slice(before);
    expect(decisions).toHaveLength(1);
    return { status, reason: decisions[0]?.reason };
  }
  const allowed: GatewayOutcome = { status: 200, reason: 'VALID' };

  /** Runs `body` with Date.now() (and only Date) at `atMs`. */
  async function at<T>(atMs: number, body: () => Promise<T>): Promise<T> {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(atMs);
    try {
      return await body();
    } finally {
      vi.useRealTimers();
    }
  }

  it('rotate with gracePeriodSeconds 0: the old secret is refused at once, the new one accepted', async () => {
    const owner = member('rita', 'acct-rotate');
    const created = await create(owner);
    expect(await gateway(created.secret)).toEqual(allowed);

    const rotated = await rotate(owner, created.id, 0);
    expect(rotated.id).toBe(created.id);
    expect(await gateway(created.secret)).toEqual({ status: 401, reason: 'EXPIRED' });
    expect(await gateway(rotated.secret)).toEqual(allowed);

    const emails = await emailsSettled(owner.email, 2);
    expect(emails.map((email) => email.subject)).toEqual([
      SUBJECT.created('gateway'),
      SUBJECT.rotated('gateway'),
    ]);
  });

  it('rotate with a grace period: both secrets work until it ends, then only the new one', async () => {
    const owner = member('gus', 'acct-rotate');
    const created = await create(owner);
    const rotated = await rotate(owner, created.id, 3600);
    const rotatedAtMs = Date.parse(String(rotated.rotatedAt));
    const graceEndsMs = rotatedAtMs + 3_600_000;

    expect(await gateway(created.secret)).toEqual(allowed);
    expect(await gateway(rotated.secret)).toEqual(allowed);
    await at(graceEndsMs - 1000, async () => {
      expect(await gateway(created.secret)).toEqual(allowed);
      expect(await gateway(rotated.secret)).toEqual(allowed);
    });
    // notAfter is exclusive: at the very end of the grace period the old secret is over.
    await at(graceEndsMs, async () => {
      expect(await gateway(created.secret)).toEqual({ status: 401, reason: 'EXPIRED' });
      expect(await gateway(rotated.secret)).toEqual(allowed);
    });
    await at(graceEndsMs + 60_000, async () => {
      expect(await gateway(created.secret)).toEqual({ status: 401, reason: 'EXPIRED' });
      expect(await gateway(rotated.secret)).toEqual(allowed);
    });
  });

  it('PATCH narrowing the scopes: a write is refused (403), a read still allowed', async () => {
    const owner = member('nina', 'acct-narrow');
    const created = await create(owner, { scopes: ['content:read', 'content:write'] });
    expect(await gateway(created.secret, 'POST', '/demo/content/x')).toEqual(allowed);
    expect(await gateway(created.secret, 'GET', '/demo/content/x')).toEqual(allowed);

    const edited = await patch(owner, created.id, { scopes: ['content:read'] });
    expect(edited.status).toBe(200);
    expect(edited.json).toMatchObject({ id: created.id, scopes: ['content:read'] });

    expect(await gateway(created.secret, 'POST', '/demo/content/x')).toEqual({
      status: 403,
      reason: 'INSUFFICIENT_SCOPE',
    });
    expect(await gateway(created.secret, 'GET', '/demo/content/x')).toEqual(allowed);
  });

  it('revoke all: {revoked: 3}, every secret refused, counters at 0, 3 emails + 1 summary; again {revoked: 0} and no email', async () => {
    const owner = member('rae', 'acct-revoke-all');
    const created = [await create(owner), await create(owner), await create(owner)];
    for (const token of created) expect(await gateway(token.secret)).toEqual(allowed);
    const userLimit = KEYS.userLimit('acct-revoke-all', 'rae');
    const accountLimit = KEYS.accountLimit('acct-revoke-all');
    expect((await item(userLimit))?.active).toBe(3);
    expect((await item(accountLimit))?.active).toBe(3);

    const first = await revokeAll(owner);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ revoked: 3, status: 'done' });
    for (const token of created) {
      expect(await gateway(token.secret)).toEqual({ status: 401, reason: 'REVOKED' });
    }
    expect((await item(userLimit))?.active).toBe(0);
    expect((await item(accountLimit))?.active).toBe(0);

    // One summary naming the three tokens, not one email per token.
    const emails = await emailsSettled(owner.email, 4);
    const subjects = emails.map((email) => email.subject);
    expect(subjects.filter((subject) => subject === SUBJECT.created('gateway'))).toHaveLength(3);
    expect(subjects.filter((subject) => subject === SUBJECT.revoked('gateway'))).toHaveLength(0);
    const summaries = emails.filter(
      (email) => email.subject === '[Access Tokens] 3 access tokens revoked at once',
    );
    expect(summaries).toHaveLength(1);
    expect(subjects).toHaveLength(4);
    for (const token of created) expect(summaries[0]?.body.text).toContain(token.id);

    const again = await revokeAll(owner);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ revoked: 0, status: 'done' });
    expect((await item(userLimit))?.active).toBe(0);
    expect((await item(accountLimit))?.active).toBe(0);
    expect(await emailsSettled(owner.email, 4, 2000)).toHaveLength(4);
  });

  it("token access off: the user's token is refused (401 DISABLED) and create is 403; back on: the token works", async () => {
    const user = member('dora', 'acct-access');
    const admin = adminContext({ userId: 'boss', accountId: 'acct-access' });
    const token = await create(user);
    expect(await gateway(token.secret)).toEqual(allowed);

    const disabled = await setAccess(admin, 'dora', false);
    expect(disabled.status).toBe(200);
    expect(disabled.json).toMatchObject({ userId: 'dora', enabled: false, updatedBy: 'boss' });
    expect(await gateway(token.secret)).toEqual({ status: 401, reason: 'DISABLED' });
    const own = await call('getUserTokenAccess', {
      pathParameters: { userId: 'dora' },
      caller: user,
    });
    expect(own.status).toBe(200);
    expect(own.json).toMatchObject({ userId: 'dora', enabled: false, updatedBy: 'boss' });
    expectContractError(
      await call('createToken', {
        caller: user,
        body: { name: 'while disabled', scopes: ['content:read'] },
      }),
      403,
      'FORBIDDEN',
    );

    const enabled = await setAccess(admin, 'dora', true);
    expect(enabled.status).toBe(200);
    expect(enabled.json).toMatchObject({ userId: 'dora', enabled: true });
    expect(await gateway(token.secret)).toEqual(allowed);
    await create(user);
  });

  it('audit events, as the owner and as an admin of the account: each change, newest first', async () => {
    const owner = member('olga', 'acct-audit');
    const admin = adminContext({ userId: 'auditor', accountId: 'acct-audit' });
    const created = await create(owner, { name: 'audited', scopes: ['content:read', 'content:write'] });
    const edited = await patch(owner, created.id, { name: 'audited-2', scopes: ['content:read'] });
    expect(edited.status).toBe(200);
    const rotated = await rotate(owner, created.id, 0);
    expect((await setAccess(admin, 'olga', false)).status).toBe(200);
    expect((await setAccess(admin, 'olga', true)).status).toBe(200);
    const revoked = await call('revokeToken', {
      pathParameters: { id: created.id },
      caller: owner,
    });
    expect(revoked.status).toBe(204);
    expect(await gateway(rotated.secret)).toEqual({ status: 401, reason: 'REVOKED' });

    const tokenActions = ['token.revoked', 'token.rotated', 'token.updated', 'token.created'];
    const userActions = [
      'token.revoked',
      'user.token-access-enabled',
      'user.token-access-disabled',
      'token.rotated',
      'token.updated',
      'token.created',
    ];
    const listings = {
      ownerToken: await auditOf(owner, { tokenId: created.id }),
      ownerAll: await auditOf(owner),
      adminToken: await auditOf(admin, { tokenId: created.id }),
      adminUser: await auditOf(admin, { userId: 'olga' }),
      adminAccount: await auditOf(admin),
    };
    expect(listings.ownerToken.map((event) => event.action)).toEqual(tokenActions);
    expect(listings.adminToken).toEqual(listings.ownerToken);
    expect(listings.ownerAll.map((event) => event.action)).toEqual(userActions);
    expect(listings.adminUser).toEqual(listings.ownerAll);
    expect(listings.adminAccount).toEqual(listings.ownerAll);

    for (const events of Object.values(listings)) {
      const times = events.map((event) => event.at);
      expect(times).toEqual([...times].sort().reverse());
    }
    const byAction = new Map(listings.ownerAll.map((event) => [event.action, event]));
    expect(byAction.get('token.updated')?.changes).toEqual([
      { field: 'name', from: 'audited', to: 'audited-2' },
      { field: 'scopes', from: ['content:read', 'content:write'], to: ['content:read'] },
    ]);
    expect(byAction.get('token.rotated')?.details).toEqual({ gracePeriodSeconds: 0 });
    expect(byAction.get('token.created')?.actor).toMatchObject({ userId: 'olga', role: 'member' });
    expect(byAction.get('user.token-access-disabled')?.actor).toMatchObject({
      userId: 'auditor',
      role: 'admin',
    });
    expect(byAction.get('token.revoked')).toMatchObject({ tokenId: created.id, subjectUserId: 'olga' });

    const emails = await emailsSettled(owner.email, 3);
    expect(emails.map((email) => email.subject)).toEqual([
      SUBJECT.created('audited'),
      SUBJECT.rotated('audited-2'),
      SUBJECT.revoked('audited-2'),
    ]);
  });

  it('no secret issued here is in an audit response, an item, an email or a log line', async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(10);
    expect(auditBodies.length).toBeGreaterThanOrEqual(5);

    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await table.documentClient.send(
        new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    expect(items.filter((candidate) => candidate.entity === 'credential').length).toBeGreaterThanOrEqual(
      secrets.length,
    );
    const stored = JSON.stringify(items);

    const all = await storedEmails();
    const ours = all.filter((email) => email.destination.to.some((to) => addresses.includes(to)));
    // (Revoke-all sends one summary, not one email per token.)
    expect(ours.length).toBeGreaterThanOrEqual(13);
    const emailText = all
      .map((email) => [email.subject, email.body.text ?? '', email.body.html ?? ''].join('\n'))
      .join('\n');
    const ourEmailText = ours
      .map((email) => [email.subject, email.body.text ?? '', email.body.html ?? ''].join('\n'))
      .join('\n');
    expect(ourEmailText.match(secretScannerPattern('atk'))).toBeNull();

    const audits = auditBodies.join('\n');
    expect(audits.match(secretScannerPattern('atk'))).toBeNull();
    const hashes = items
      .filter((candidate) => candidate.entity === 'credential')
      .map((credential) => String(credential.secretHash));
    for (const hash of hashes) expect(audits).not.toContain(hash);

    const logged = logs.text();
    for (const secret of secrets) {
      // The body of the secret (after `atk_`, before the checksum) is what must never leak.
      const body = secret.slice(4, 36);
      for (const [where, text] of [
        ['audit responses', audits],
        ['table', stored],
        ['emails', emailText],
        ['logs', logged],
      ] as const) {
        expect(text.includes(secret), `${where} contain a secret`).toBe(false);
        expect(text.includes(body), `${where} contain a secret's body`).toBe(false);
      }
    }
    expect(pollerErrors).toEqual([]);
  });
});
