import { describe, expect, it } from 'vitest';
import { createTokenRequestSchema } from '../../../lambdas/contract/api-schemas.js';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import type { AuditEvent, TokenChange, TokenRecord } from '../../../lambdas/core/model.js';
import { revokeAllTokens } from '../../../lambdas/core/token-lifecycle.js';
import { createToken } from '../../../lambdas/core/token-service.js';
import { MemoryTokenRepository, TestClock, testCaller } from '../core/memory-ports.js';

// What the notifier needs from revoke-all to send one summary per owner: every revoked token names
// the revoke-all (lastChange.bulkId = the id of its tokens.revoked-all audit event), and that
// event is written even when the revoke-all fails part of the way, for the tokens revoked so far.

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
    await expect(revokeAllTokens(deps, alice, {})).resolves.toBe(3);
    const summary = [...repository.auditLog.events.values()].find(
      (event) => event.action === 'tokens.revoked-all',
    );
    expect(summary?.details).toMatchObject({ revokedCount: 3 });
    const changes = [...repository.tokens.values()].map((token) => token.lastChange);
    expect(changes.every((change) => change.bulkId === summary?.id && change.bulk === true)).toBe(true);
    expect(changes.every((change) => change.actorEmail === 'alice@example.com')).toBe(true);
  });

  it('a failure part of the way still records the summary of what was revoked (so its email goes out), then throws', async () => {
    const { repository, deps } = setup();
    for (let i = 0; i < 3; i++) await createToken(deps, alice, request);
    let calls = 0;
    const revoke = repository.revoke.bind(repository);
    repository.revoke = async (id: string, change: TokenChange, audit: (r: TokenRecord) => AuditEvent) => {
      calls += 1;
      if (calls === 3) throw new Error('TransactionCanceled');
      return revoke(id, change, audit);
    };
    await expect(revokeAllTokens(deps, alice, {})).rejects.toThrow('TransactionCanceled');
    const summaries = [...repository.auditLog.events.values()].filter(
      (event) => event.action === 'tokens.revoked-all',
    );
    expect(summaries.map((event) => event.details.revokedCount)).toEqual([2]);
  });

  it('a failure before anything was revoked records nothing', async () => {
    const { repository, deps } = setup();
    await createToken(deps, alice, request);
    repository.revoke = async () => {
      throw new Error('TransactionCanceled');
    };
    await expect(revokeAllTokens(deps, alice, {})).rejects.toThrow('TransactionCanceled');
    expect(
      [...repository.auditLog.events.values()].some((event) => event.action === 'tokens.revoked-all'),
    ).toBe(false);
  });
});
