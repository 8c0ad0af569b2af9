import { describe, expect, it } from 'vitest';
import { createTokenRequestSchema } from '../../../lambdas/contract/api-schemas.js';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import type { AuditEvent, TokenChange, TokenRecord } from '../../../lambdas/core/model.js';
import { runRevokeAllSlice } from '../../../lambdas/core/revoke-all-job.js';
import { createToken } from '../../../lambdas/core/token-service.js';
import {
  MemoryRevokeAllJobs,
  MemoryTokenRepository,
  revokeAllToCompletion,
  TestClock,
  testCaller,
} from '../core/memory-ports.js';

// What the notifier needs from revoke-all to send one summary per owner: every revoked token names
// the revoke-all (lastChange.bulkId = the id of its tokens.revoked-all audit event, the job's id),
// and that event is written once the job is done, also when a slice failed part of the way and
// its retry finished the rest.

const KEY = { version: 'v1', material: Buffer.alloc(32, 3) };

function setup() {
  const repository = new MemoryTokenRepository();
  const deps = {
    repository,
    auditLog: repository.auditLog,
    clock: new TestClock(new Date('2026-06-01T08:00:00.000Z')),
    settings: DEFAULT_POLICY_SETTINGS,
    keySource: { getKey: async () => KEY },
    concurrency: 1,
  };
  return { repository, deps };
}

const alice = testCaller({ email: 'alice@example.com' });
const request = createTokenRequestSchema.parse({ name: 'key', scopes: ['content:read'], expiresInDays: 30 });

describe('revoke-all and its summary', () => {
  it("stamps the summary event's id on every token it revokes, and the caller's address on the change", async () => {
    const { repository, deps } = setup();
    for (let i = 0; i < 3; i++) await createToken(deps, alice, request);
    await expect(revokeAllToCompletion(deps, alice, {})).resolves.toBe(3);
    const summary = [...repository.auditLog.events.values()].find(
      (event) => event.action === 'tokens.revoked-all',
    );
    expect(summary?.details).toMatchObject({ revokedCount: 3 });
    const changes = [...repository.tokens.values()].map((token) => token.lastChange);
    expect(changes.every((change) => change.bulkId === summary?.id && change.bulk === true)).toBe(true);
    expect(changes.every((change) => change.actorEmail === 'alice@example.com')).toBe(true);
  });

  it('a failure part of the way keeps the count of what was revoked; the retried slice finishes with one summary of all', async () => {
    const { repository, deps } = setup();
    for (let i = 0; i < 3; i++) await createToken(deps, alice, request);
    let calls = 0;
    const revoke = repository.revoke.bind(repository);
    repository.revoke = async (id: string, change: TokenChange, audit: (r: TokenRecord) => AuditEvent) => {
      calls += 1;
      if (calls === 3) throw new Error('TransactionCanceled');
      return revoke(id, change, audit);
    };
    const jobs = new MemoryRevokeAllJobs();
    await expect(revokeAllToCompletion({ ...deps, jobs }, alice, {})).rejects.toThrow('TransactionCanceled');
    const [job] = jobs.jobs.values();
    expect(job).toMatchObject({ status: 'running', revoked: 2 });
    const summaries = () =>
      [...repository.auditLog.events.values()].filter((event) => event.action === 'tokens.revoked-all');
    expect(summaries()).toEqual([]);

    // The worker's retry of the slice (SQS redelivers it): the third token, then the summary.
    const finished = await runRevokeAllSlice(
      { ...deps, jobs, continuation: { continueLater: async () => {} } },
      job?.jobId ?? '',
      60_000,
    );
    expect(finished).toMatchObject({ status: 'done', revoked: 3 });
    expect(summaries().map((event) => [event.id, event.details.revokedCount])).toEqual([[job?.jobId, 3]]);
  });

  it('a failure before anything was revoked records nothing', async () => {
    const { repository, deps } = setup();
    await createToken(deps, alice, request);
    repository.revoke = async () => {
      throw new Error('TransactionCanceled');
    };
    await expect(revokeAllToCompletion(deps, alice, {})).rejects.toThrow('TransactionCanceled');
    expect(
      [...repository.auditLog.events.values()].some((event) => event.action === 'tokens.revoked-all'),
    ).toBe(false);
  });
});
