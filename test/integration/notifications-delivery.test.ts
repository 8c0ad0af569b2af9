import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { SESClient } from '@aws-sdk/client-ses';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoBulkRevocationTokens } from '../../lambdas/adapters/bulk-revocation-query.js';
import { DynamoAuditLog } from '../../lambdas/adapters/dynamo-audit-log.js';
import { DynamoOwnerContacts } from '../../lambdas/adapters/dynamo-owner-contacts.js';
import { DynamoRevokeAllJobs } from '../../lambdas/adapters/dynamo-revoke-all-jobs.js';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { DynamoIdempotencyStore, idempotencyItemKey } from '../../lambdas/adapters/idempotency-store.js';
import { SesMailer } from '../../lambdas/adapters/ses-mailer.js';
import { createTokenRequestSchema } from '../../lambdas/contract/api-schemas.js';
import { DEFAULT_POLICY_SETTINGS } from '../../lambdas/contract/policy-settings.js';
import type { Caller } from '../../lambdas/core/model.js';
import { CLAIM_LEASE_SECONDS } from '../../lambdas/core/notifications/idempotency.js';
import type { Clock } from '../../lambdas/core/ports.js';
import { systemClock } from '../../lambdas/core/ports.js';
import {
  type RevokeAllJobDeps,
  runRevokeAllSlice,
  startRevokeAll,
} from '../../lambdas/core/revoke-all-job.js';
import { rotateToken } from '../../lambdas/core/token-lifecycle.js';
import { createToken } from '../../lambdas/core/token-service.js';
import { createStreamNotifier, type StreamNotifierDeps } from '../../lambdas/notifier/stream-notifier.js';
import { SDK_CALL_MAX_MS, sdkClientConfig } from '../../lambdas/runtime/sdk-options.js';
import { type StreamPoller, startStreamPoller } from '../../local/stream-poller.js';
import { createTestTable, dynamoEndpoint, LOCAL_CREDENTIALS, type TestTable } from '../support/dynamo.js';
import { pollUntil, quietFor } from '../support/time.js';
import { batch, HMAC_KEY, insertOf, issueToken } from '../unit/notifications/support.js';

// Emails exactly once, on DynamoDB Local and the SES emulator, through the management core (as the
// handlers call it), the table's stream (the local poller) and the notifier: a hung SES, a mark
// that fails, a revoke-all, an owner whose address changed. The emulator is shared with the other
// test files, so each test reads only emails to its own addresses.

const SENDER = 'no-reply@example.com';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface StoredEmail {
  readonly destination: { readonly to: string[] };
  readonly subject: string;
  readonly body: { readonly text?: string };
}

const sesEndpoint = () => inject('sesEndpoint');
const uniqueAddress = (label: string) => `${label}-${randomUUID()}@delivery.test`;

async function emailsTo(address: string): Promise<StoredEmail[]> {
  const response = await fetch(`${sesEndpoint()}/store`);
  const { emails } = (await response.json()) as { emails: StoredEmail[] };
  return emails.filter((email) => email.destination.to.includes(address));
}

function sesMailer(endpoint: string): SesMailer {
  // As deployed (not the longer local override): the handlers' SDK client settings, with an endpoint.
  const client = new SESClient({
    ...sdkClientConfig({}),
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  return new SesMailer(client, { senderAddress: SENDER });
}

/** A TCP server that accepts connections and never answers: an SES endpoint that hangs. */
async function hungServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('emails exactly once, on DynamoDB Local and the SES emulator', () => {
  let table: TestTable;
  let poller: StreamPoller;
  let deps: StreamNotifierDeps;
  let current: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
  const pollerErrors: unknown[] = [];

  beforeAll(async () => {
    table = await createTestTable();
    deps = {
      mailer: sesMailer(sesEndpoint()),
      store: new DynamoIdempotencyStore(table.documentClient, table.tableName),
      contacts: new DynamoOwnerContacts(table.documentClient, table.tableName),
      bulkTokens: new DynamoBulkRevocationTokens(table.documentClient, table.tableName),
      clock: systemClock,
      logger: silent,
    };
    current = createStreamNotifier(deps);
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 100,
      retryDelayMs: 300,
      handler: (event) => current(event),
      onError: (error) => pollerErrors.push(error),
    });
  });

  afterAll(async () => {
    await poller.stop();
    await table.drop();
  });

  const repository = () =>
    new DynamoTokenRepository(table.documentClient, table.tableName, { auditRetentionDays: 30 });
  const auditLog = () =>
    new DynamoAuditLog(table.documentClient, table.tableName, { auditRetentionDays: 30 });
  const core = () => ({
    repository: repository(),
    auditLog: auditLog(),
    clock: systemClock,
    keySource: { getKey: async () => HMAC_KEY },
    settings: DEFAULT_POLICY_SETTINGS,
  });
  /**
   * DELETE /tokens?userId= as the route runs it: a revoke-all job on the table, its slices run here
   * until it is done (the worker's part, in AWS an SQS message per slice). Resolves to the count.
   */
  const revokeAll = async (by: Caller, query: { userId: string | undefined }): Promise<number> => {
    const pending: string[] = [];
    const deps: RevokeAllJobDeps = {
      ...core(),
      jobs: new DynamoRevokeAllJobs(table.documentClient, table.tableName),
      continuation: { continueLater: async (jobId) => void pending.push(jobId) },
    };
    let job = await startRevokeAll(deps, by, query);
    for (let jobId = pending.shift(); jobId !== undefined; jobId = pending.shift()) {
      job = await runRevokeAllSlice(deps, jobId, 60_000);
    }
    expect(job.status).toBe('done');
    return job.revoked;
  };
  const caller = (userId: string, email: string | undefined, role: Caller['role'] = 'member'): Caller => ({
    userId,
    accountId: `acct-${userId}`,
    role,
    email,
    sourceIp: '203.0.113.5',
    userAgent: 'delivery-test',
  });
  const request = (name: string) =>
    createTokenRequestSchema.parse({ name, scopes: ['content:read'], expiresInDays: 30 });

  it(
    'a hung SES: the send gives up within its timeouts, the record is retried, and the email goes out once SES answers',
    async () => {
      const hung = await hungServer();
      try {
        const owner = uniqueAddress('hung');
        const { token } = issueToken({ ownerEmail: owner });
        const event = batch(insertOf(token));
        const stalled = createStreamNotifier({ ...deps, mailer: sesMailer(hung.url) });

        const started = Date.now();
        const result = await stalled(event);
        const tookMs = Date.now() - started;
        expect(result.batchItemFailures).toEqual([
          { itemIdentifier: event.Records[0]?.dynamodb?.SequenceNumber },
        ]);
        expect(tookMs).toBeLessThan(SDK_CALL_MAX_MS + 5_000);
        // The claim was released: the retry can send at once.
        const { Item } = await table.documentClient.send(
          new GetCommand({
            TableName: table.tableName,
            Key: idempotencyItemKey(`created#${token.id}`),
            ConsistentRead: true,
          }),
        );
        expect(Item).toBeUndefined();

        // SES is back: the retried record sends, a further redelivery sends nothing.
        const recovered = createStreamNotifier(deps);
        await expect(recovered(event)).resolves.toEqual({ batchItemFailures: [] });
        await expect(recovered(event)).resolves.toEqual({ batchItemFailures: [] });
        expect(
          (
            await pollUntil(
              () => emailsTo(owner),
              (found) => found.length > 0,
            )
          ).map((e) => e.subject),
        ).toEqual(['[Access Tokens] New access token "CI deploy key" created']);
        await quietFor(500);
        expect(await emailsTo(owner)).toHaveLength(1);
      } finally {
        await hung.close();
      }
    },
    SDK_CALL_MAX_MS + 30_000,
  );

  it('a mark that fails never yields a second email: the redelivery after the lease finds it maybe sent', async () => {
    const owner = uniqueAddress('mark');
    const { token } = issueToken({ ownerEmail: owner });
    const event = batch(insertOf(token));
    const store = new DynamoIdempotencyStore(table.documentClient, table.tableName);
    const failingMarks = Object.assign(Object.create(store) as DynamoIdempotencyStore, {
      complete: async () => {
        throw Object.assign(new Error('Service unavailable'), { name: 'InternalServerError' });
      },
    });
    let nowMs = Date.now();
    const clock: Clock = { now: () => new Date(nowMs) };
    const warnings: string[] = [];
    const logger = {
      ...silent,
      warn: (message: string) => warnings.push(message),
      error: (message: string) => warnings.push(message),
    };

    const first = createStreamNotifier({
      ...deps,
      store: failingMarks,
      clock,
      logger,
      sleep: async () => undefined,
    });
    await expect(first(event)).resolves.toEqual({ batchItemFailures: [] });
    // Redelivered after the lease (a retry, a replay, a redrive): found maybe sent, not sent again.
    nowMs += CLAIM_LEASE_SECONDS * 1000 + 1000;
    const later = createStreamNotifier({ ...deps, clock, logger });
    await expect(later(event)).resolves.toEqual({ batchItemFailures: [] });
    await expect(later(event)).resolves.toEqual({ batchItemFailures: [] });

    await pollUntil(
      () => emailsTo(owner),
      (found) => found.length > 0,
    );
    await quietFor(500);
    expect(await emailsTo(owner)).toHaveLength(1);
    const { Item } = await table.documentClient.send(
      new GetCommand({
        TableName: table.tableName,
        Key: idempotencyItemKey(`created#${token.id}`),
        ConsistentRead: true,
      }),
    );
    expect(Item).toMatchObject({ status: 'sent', maybeSent: true });
    expect(warnings.some((line) => line.startsWith('email sent, but recording it failed'))).toBe(true);
    expect(warnings.some((line) => line.startsWith('maybe sent'))).toBe(true);
  }, 180_000);

  it('revoke-all of many tokens → one summary email per owner naming every token, no email per token', async () => {
    const owner = uniqueAddress('bulk');
    const member = caller(`bulk-${randomUUID().slice(0, 8)}`, owner);
    const created = [];
    for (let i = 0; i < 9; i++)
      created.push((await createToken(core(), member, request(`deploy key ${i}`))).token);
    await pollUntil(
      () => emailsTo(owner),
      (found) => found.length === 9,
    );

    await expect(revokeAll(member, { userId: undefined })).resolves.toBe(9);

    const emails = await pollUntil(
      () => emailsTo(owner),
      (found) => found.length > 9,
    );
    await quietFor(1500);
    const after = (await emailsTo(owner)).slice(9);
    expect(emails.length).toBeGreaterThan(9);
    expect(after.map((email) => email.subject)).toEqual(['[Access Tokens] 9 access tokens revoked at once']);
    for (const token of created) {
      expect(after[0]?.body.text).toContain(token.id);
      expect(after[0]?.body.text).toContain(token.name);
    }
    expect(after[0]?.body.text).toContain('You revoked all your access tokens at once');
  }, 180_000);

  it("an admin's revoke-all of the whole account → one summary to each owner", async () => {
    const accountId = `acct-${randomUUID().slice(0, 8)}`;
    const inAccount = (c: Caller): Caller => ({ ...c, accountId });
    const [ana, ben] = [uniqueAddress('ana'), uniqueAddress('ben')];
    const anaCaller = inAccount(caller('ana', ana));
    const benCaller = inAccount(caller('ben', ben));
    for (let i = 0; i < 3; i++) await createToken(core(), anaCaller, request(`ana ${i}`));
    for (let i = 0; i < 2; i++) await createToken(core(), benCaller, request(`ben ${i}`));
    await pollUntil(
      () => emailsTo(ben),
      (found) => found.length === 2,
    );

    await expect(revokeAll(inAccount(caller('root', undefined, 'admin')), { userId: '*' })).resolves.toBe(5);

    const anaSummary = await pollUntil(
      () => emailsTo(ana),
      (found) => found.length === 4,
    );
    const benSummary = await pollUntil(
      () => emailsTo(ben),
      (found) => found.length === 3,
    );
    await quietFor(1500);
    expect(anaSummary.at(-1)?.subject).toBe('[Access Tokens] 3 access tokens revoked at once');
    expect(benSummary.at(-1)?.subject).toBe('[Access Tokens] 2 access tokens revoked at once');
    expect(benSummary.at(-1)?.body.text).toContain('An administrator revoked all your access tokens');
    expect(await emailsTo(ana)).toHaveLength(4);
    expect(await emailsTo(ben)).toHaveLength(3);
  }, 180_000);

  it("the owner's current address: a write with a new address moves their emails there and tells both addresses", async () => {
    const [oldAddress, newAddress] = [uniqueAddress('old'), uniqueAddress('new')];
    const userId = `mover-${randomUUID().slice(0, 8)}`;
    const { token } = await createToken(core(), caller(userId, oldAddress), request('moving key'));
    await pollUntil(
      () => emailsTo(oldAddress),
      (found) => found.length === 1,
    );

    // Months later the owner signs in with a new address and rotates the token.
    await rotateToken(core(), caller(userId, newAddress), token.id, { gracePeriodSeconds: 0 });

    const toNew = await pollUntil(
      () => emailsTo(newAddress),
      (found) => found.length === 2,
    );
    const toOld = await pollUntil(
      () => emailsTo(oldAddress),
      (found) => found.length === 2,
    );
    await quietFor(1500);
    expect(toNew.map((email) => email.subject).sort()).toEqual([
      '[Access Tokens] Access token "moving key" was rotated',
      '[Access Tokens] The email address for your access tokens changed',
    ]);
    expect(toOld.map((email) => email.subject)).toEqual([
      '[Access Tokens] New access token "moving key" created',
      '[Access Tokens] The email address for your access tokens changed',
    ]);
    expect(toOld[1]?.body.text).toContain(newAddress);

    // An admin's revocation later goes to the new address too (the token still says the old one).
    await revokeAll(
      { ...caller('root', uniqueAddress('root'), 'admin'), accountId: `acct-${userId}` },
      { userId },
    );
    const final = await pollUntil(
      () => emailsTo(newAddress),
      (found) => found.length === 3,
    );
    expect(final.at(-1)?.subject).toBe('[Access Tokens] 1 access token revoked at once');
    expect(await emailsTo(oldAddress)).toHaveLength(2);
  }, 180_000);

  it('the poller reported no stream errors', () => {
    expect(pollerErrors).toEqual([]);
  });
});
