import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoAuditLog } from '../../lambdas/adapters/dynamo-audit-log.js';
import { DynamoRevokeAllJobs } from '../../lambdas/adapters/dynamo-revoke-all-jobs.js';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { KEYS, PARTITIONS } from '../../lambdas/adapters/table-definition.js';
import { DEFAULT_POLICY_SETTINGS } from '../../lambdas/contract/policy-settings.js';
import { tokenAuditEvent } from '../../lambdas/core/audit.js';
import { LimitExceededError } from '../../lambdas/core/errors.js';
import type { Caller, TokenRecord } from '../../lambdas/core/model.js';
import type { Clock } from '../../lambdas/core/ports.js';
import {
  REQUEST_SLICE_MS,
  type RevokeAllJobDeps,
  runRevokeAllSlice,
  startRevokeAll,
  WORKER_SLICE_MS,
} from '../../lambdas/core/revoke-all-job.js';
import type { RouteHandler } from '../../lambdas/http/route-handler.js';
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { stubHandlerEnv } from '../support/env.js';
import { adminContext, captureLogs, invoke, memberContext, proxyEvent } from '../support/proxy-events.js';
import { seedCreatedTokens } from '../support/seed-tokens.js';
import { tokenRecord } from '../unit/management/records.js';

// Revoke-all on a large account (issue 18, item 6) on DynamoDB Local: a whole account at its
// active-token limit is revoked by a job (lambdas/core/revoke-all-job.ts): the request's slice is
// bounded, the rest runs in worker slices, and the end writes one summary event with the count.

const ACCOUNT = 'acct-big';
const PER_USER = DEFAULT_POLICY_SETTINGS.maxActiveTokensPerUser;
/** The account limit of this configuration: the 400 tokens (10.6 s in one request before). */
const PER_ACCOUNT = 400;
const admin: Caller = {
  userId: 'root',
  accountId: ACCOUNT,
  role: 'admin',
  email: 'root@example.com',
  sourceIp: '203.0.113.7',
  userAgent: 'test',
};

/**
 * A clock that moves on 25 ms each time it is read: a slice's time budget then runs out after a
 * fixed number of reads, however fast or slow this machine is, so the test is deterministic.
 */
function steppingClock(): Clock {
  let at = Date.now();
  return {
    now: () => {
      at += 25;
      return new Date(at);
    },
  };
}

describe('revoke-all job on DynamoDB Local', () => {
  let table: TestTable;
  let repository: DynamoTokenRepository;
  let logs: ReturnType<typeof captureLogs>;

  beforeAll(async () => {
    table = await createTestTable();
    repository = new DynamoTokenRepository(table.documentClient, table.tableName, { auditRetentionDays: 30 });
    logs = captureLogs();
  });
  afterAll(async () => {
    logs.restore();
    vi.unstubAllEnvs();
    await table.drop();
  });

  /** `count` created tokens, `perUser` per user: all but the last in bulk, the last through the repository. */
  async function seed(accountId: string, count: number, perUser: number): Promise<TokenRecord[]> {
    const tokens = Array.from({ length: count }, (_, index) =>
      tokenRecord({
        accountId,
        userId: `user-${Math.floor(index / perUser)}`,
        secretHash: `hash-${accountId}-${index}`,
      }),
    );
    const created = (token: TokenRecord) => tokenAuditEvent('token.created', admin, token, token.createdAt);
    const last = tokens.at(-1);
    await seedCreatedTokens(
      table.documentClient,
      table.tableName,
      tokens.slice(0, -1).map((token) => ({ token, created: created(token) })),
      30,
    );
    // The last create goes through the limits the bulk left: at the account's limit it only fits if
    // the counters hold exactly the tokens before it.
    if (last !== undefined) {
      await repository.create(last, { perUser, perAccount: PER_ACCOUNT, usageKeys: 10_000 }, created(last));
    }
    return tokens;
  }

  async function item(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const { Item } = await table.documentClient.send(
      new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  it(`revokes an account at its limit (${PER_ACCOUNT} tokens) in bounded slices and writes one summary`, async () => {
    const tokens = await seed(ACCOUNT, PER_ACCOUNT, PER_USER);
    // At its limit: one more create is refused.
    const extra = tokenRecord({ accountId: ACCOUNT, userId: 'user-extra', secretHash: 'hash-extra' });
    await expect(
      repository.create(
        extra,
        { perUser: PER_USER, perAccount: PER_ACCOUNT, usageKeys: 10_000 },
        tokenAuditEvent('token.created', admin, extra, extra.createdAt),
      ),
    ).rejects.toThrow(LimitExceededError);
    const queued: string[] = [];
    const deps: RevokeAllJobDeps = {
      repository,
      auditLog: new DynamoAuditLog(table.documentClient, table.tableName, { auditRetentionDays: 30 }),
      jobs: new DynamoRevokeAllJobs(table.documentClient, table.tableName),
      clock: steppingClock(),
      continuation: { continueLater: async (jobId) => void queued.push(jobId) },
    };

    // The request: a slice of REQUEST_SLICE_MS (200 clock reads here), then 202 with the job.
    const started = await startRevokeAll(deps, admin, { userId: '*' });
    expect(started.status).toBe('running');
    expect(started.revoked).toBeGreaterThan(0);
    expect(started.revoked).toBeLessThan(PER_ACCOUNT);
    expect(queued).toEqual([started.jobId]);
    expect(REQUEST_SLICE_MS).toBeLessThan(10_000); // inside the function's 10 s timeout

    // The worker: one slice per queued message, each queuing the job again while tokens are left.
    let slices = 0;
    let last = started;
    while (queued.length > 0) {
      const jobId = queued.shift() ?? '';
      last = await runRevokeAllSlice(deps, jobId, WORKER_SLICE_MS / 20);
      slices += 1;
    }
    expect(slices).toBeGreaterThan(1);
    expect(last).toMatchObject({ status: 'done', revoked: PER_ACCOUNT });

    // Every token revoked, every counter back at 0.
    for (const token of tokens) {
      expect((await item(KEYS.token(token.id)))?.state).toBe('revoked');
    }
    expect((await item(KEYS.accountLimit(ACCOUNT)))?.active).toBe(0);

    // One summary event, with the job's id and the whole count, after every revocation.
    const { Items = [] } = await table.documentClient.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': PARTITIONS.auditOfUser(ACCOUNT, admin.userId) },
        ConsistentRead: true,
      }),
    );
    const summaries = Items.filter((event) => event.action === 'tokens.revoked-all');
    expect(summaries).toEqual([
      expect.objectContaining({
        id: started.jobId,
        details: { revokedCount: PER_ACCOUNT, target: '*' },
      }),
    ]);

    // Safe to repeat: the message delivered again changes nothing, the summary stays one.
    await expect(runRevokeAllSlice(deps, started.jobId, WORKER_SLICE_MS)).resolves.toMatchObject({
      status: 'done',
      revoked: PER_ACCOUNT,
    });
    // A second revoke-all finds nothing left.
    await expect(startRevokeAll(deps, admin, { userId: '*' })).resolves.toMatchObject({
      status: 'done',
      revoked: 0,
    });
    // Seeding and revoking 400 tokens on DynamoDB Local: minutes on a loaded 2-core machine.
  }, 900_000);

  describe('through the handlers (local wiring: the rest of a job runs in-process)', () => {
    const handlers = {} as Record<'revokeAll' | 'getJob', RouteHandler>;
    const alice = memberContext({ userId: 'alice', accountId: 'acct-small', email: 'a@example.com' });
    const bob = memberContext({ userId: 'bob', accountId: 'acct-small', email: 'b@example.com' });
    const boss = adminContext({ userId: 'boss', accountId: 'acct-small' });

    beforeAll(async () => {
      stubHandlerEnv({ tableName: table.tableName, dynamoEndpoint: dynamoEndpoint() });
      handlers.revokeAll = (
        (await import('../../lambdas/revoke-all-tokens/handler.js')) as {
          handler: RouteHandler;
        }
      ).handler;
      handlers.getJob = (
        (await import('../../lambdas/get-revoke-all-job/handler.js')) as {
          handler: RouteHandler;
        }
      ).handler;
    });

    it('200 with the finished job for a small account; its progress is readable by its owner and admins only', async () => {
      await seed('acct-small', 3, 10).then(() => undefined);
      const tokens = await repository.listSlotHolders('acct-small', 'user-0');
      expect(tokens).toHaveLength(3);
      const own = memberContext({ userId: 'user-0', accountId: 'acct-small' });
      const result = await invoke(
        handlers.revokeAll,
        proxyEvent({ method: 'DELETE', resource: '/tokens', caller: own }),
      );
      expect(result.status).toBe(200);
      const body = result.json as { jobId: string; status: string; revoked: number };
      expect(body).toMatchObject({ status: 'done', revoked: 3 });

      const read = (caller: typeof alice) =>
        invoke(
          handlers.getJob,
          proxyEvent({
            method: 'GET',
            resource: '/revoke-all-jobs/{jobId}',
            pathParameters: { jobId: body.jobId },
            caller,
          }),
        );
      const mine = await read(own);
      expect(mine.status).toBe(200);
      expect(mine.json).toMatchObject({
        jobId: body.jobId,
        status: 'done',
        revoked: 3,
        target: 'user-0',
        requestedBy: 'user-0',
      });
      expect(mine.rawBody).not.toContain('a@example.com');
      expect((await read(boss)).status).toBe(200);
      expect((await read(bob)).status).toBe(404);
      expect((await read(adminContext({ userId: 'other', accountId: 'acct-other' }))).status).toBe(404);
    });
  });
});
