import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTokenRequestSchema } from '../../../lambdas/contract/api-schemas.js';
import { parsePolicySettings } from '../../../lambdas/contract/policy-settings.js';
import { ForbiddenError, LimitExceededError, ValidationError } from '../../../lambdas/core/errors.js';
import type { HmacKey } from '../../../lambdas/core/hashing.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import type { UsagePlanGateway, UsageReader } from '../../../lambdas/core/ports.js';
import {
  effectiveLimits,
  QUOTA_PERIODS,
  type QuotaUsage,
  RATE_LIMIT_BOUNDS,
  type TokenLimits,
  type TokenLimitsOverride,
} from '../../../lambdas/core/rate-limits.js';
import { typeLimitsOf } from '../../../lambdas/core/settings.js';
import { tokenDetail } from '../../../lambdas/core/token-detail.js';
import { updateToken } from '../../../lambdas/core/token-lifecycle.js';
import { resolveLimitsUpdate } from '../../../lambdas/core/token-limits.js';
import { policyView, resolveTokenPolicy } from '../../../lambdas/core/token-policy.js';
import { createToken } from '../../../lambdas/core/token-service.js';
import { MemoryTokenRepository, TestClock, testCaller } from './memory-ports.js';

// Per-token limits (#14) in the use cases: what a create or an edit may ask for, who may raise,
// the audit trail, the budgets, the best-effort usage-key sync and the token's detail.

const KEY: HmacKey = { version: 'v1', material: Buffer.alloc(32, 3) };
const NOW = new Date('2025-03-05T12:00:00.000Z');

const SETTINGS = parsePolicySettings({
  tokenTypes: {
    standard: { description: 'Any scope.', rateLimit: { requestsPerSecond: 50, burst: 100 } },
    metered: {
      description: 'With a daily quota.',
      rateLimit: { requestsPerSecond: 10, burst: 20 },
      quota: { limit: 1000, period: 'DAY' },
    },
  },
  limitClassBudget: 2,
  usageKeyBudget: 5,
  maxActiveTokensPerUser: 10,
});

const alice = testCaller();
const admin = testCaller({ userId: 'root', role: 'admin' });

/** An in-memory UsagePlanGateway: what was called, and (optionally) a failure. */
class MemoryUsagePlans implements UsagePlanGateway {
  readonly calls: string[] = [];
  failure: Error | undefined;

  async ensurePlan(limitClass: string): Promise<string> {
    this.calls.push(`ensurePlan:${limitClass}`);
    if (this.failure !== undefined) throw this.failure;
    return `plan-${limitClass}`;
  }
  async assignKey(keyValue: string, _tokenId: string, planId: string): Promise<void> {
    this.calls.push(`assignKey:${keyValue}:${planId}`);
  }
  async deleteKey(keyValue: string): Promise<void> {
    this.calls.push(`deleteKey:${keyValue}`);
  }
}

function setup() {
  const repository = new MemoryTokenRepository();
  const clock = new TestClock(NOW);
  const usagePlans = new MemoryUsagePlans();
  const syncErrors: { error: unknown; tokenId: string }[] = [];
  const deps = {
    repository,
    clock,
    settings: SETTINGS,
    keySource: { getKey: async () => KEY },
    usagePlans,
    onUsageKeySyncError: (error: unknown, tokenId: string) => void syncErrors.push({ error, tokenId }),
  };
  return { repository, clock, deps, usagePlans, syncErrors };
}

const base = { name: 'reports', description: '', scopes: ['content:read'] };

async function detailOf(token: TokenRecord, usage?: UsageReader, onUsageError?: (error: unknown) => void) {
  return tokenDetail({ settings: SETTINGS, clock: new TestClock(NOW), usage, onUsageError }, token);
}

describe('GET /policy: the ceilings and the usage-key budget', () => {
  it("shows each type's rateLimit and quota (null when none) and usageKeyBudget", () => {
    const view = policyView(SETTINGS);
    expect(view.usageKeyBudget).toBe(5);
    expect(view.tokenTypes.map(({ name, rateLimit, quota }) => ({ name, rateLimit, quota }))).toEqual([
      { name: 'standard', rateLimit: { requestsPerSecond: 50, burst: 100 }, quota: null },
      {
        name: 'metered',
        rateLimit: { requestsPerSecond: 10, burst: 20 },
        quota: { limit: 1000, period: 'DAY' },
      },
    ]);
  });
});

describe('create: limits up to the type ceiling', () => {
  it('stores what is given; an absent or null field is the type (null override when nothing is given)', () => {
    const resolve = (limits: Parameters<typeof resolveTokenPolicy>[1]['limits'], type = 'metered') =>
      resolveTokenPolicy(SETTINGS, { ...base, type, limits }, NOW).limits;
    expect(resolve(undefined)).toBeNull();
    expect(resolve({ rateLimit: null, quota: null })).toBeNull();
    expect(resolve({ rateLimit: { requestsPerSecond: 5, burst: 5 } })).toEqual({
      rateLimit: { requestsPerSecond: 5, burst: 5 },
      quota: null,
    });
    expect(resolve({ quota: { limit: 20, period: 'DAY' } })).toEqual({
      rateLimit: null,
      quota: { limit: 20, period: 'DAY' },
    });
    // A type without a quota accepts any quota: it only ever restricts.
    expect(resolve({ quota: { limit: 5, period: 'MONTH' } }, 'standard')?.quota).toEqual({
      limit: 5,
      period: 'MONTH',
    });
  });

  it('400 with a detail per field above the ceiling, collected with the other problems', () => {
    let error: unknown;
    try {
      resolveTokenPolicy(
        SETTINGS,
        {
          ...base,
          scopes: [],
          type: 'metered',
          limits: { rateLimit: { requestsPerSecond: 11, burst: 21 }, quota: { limit: 5, period: 'WEEK' } },
        },
        NOW,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details?.map((detail) => detail.path)).toEqual([
      'scopes',
      'limits.rateLimit.requestsPerSecond',
      'limits.rateLimit.burst',
      'limits.quota.period',
    ]);
  });

  it('property: an override the API accepts is within the ceiling, and any within the ceiling is accepted', () => {
    const { requestsPerSecond: rps, burst, quotaLimit } = RATE_LIMIT_BOUNDS;
    const rateLimit = fc.record({
      requestsPerSecond: fc.integer({ min: rps.min, max: 60 }),
      burst: fc.integer({ min: burst.min, max: 120 }),
    });
    const quota = fc.record({
      limit: fc.integer({ min: quotaLimit.min, max: 1200 }),
      period: fc.constantFrom(...QUOTA_PERIODS),
    });
    const within = (override: TokenLimitsOverride, ceiling: TokenLimits) =>
      (override.rateLimit === null ||
        (override.rateLimit.requestsPerSecond <= ceiling.rateLimit.requestsPerSecond &&
          override.rateLimit.burst <= ceiling.rateLimit.burst)) &&
      (override.quota === null ||
        ceiling.quota === null ||
        (override.quota.period === ceiling.quota.period && override.quota.limit <= ceiling.quota.limit));
    fc.assert(
      fc.property(
        fc.constantFrom('standard', 'metered'),
        fc.option(rateLimit),
        fc.option(quota),
        (type, requestedRate, requestedQuota) => {
          const body = createTokenRequestSchema.parse({
            ...base,
            type,
            limits: { rateLimit: requestedRate, quota: requestedQuota },
          });
          const ceiling = typeLimitsOf(SETTINGS.tokenTypes[type] ?? expect.fail(type));
          const override = { rateLimit: requestedRate, quota: requestedQuota };
          let accepted: TokenLimitsOverride | null | undefined;
          try {
            accepted = resolveTokenPolicy(SETTINGS, body, NOW).limits;
          } catch (error) {
            if (!(error instanceof ValidationError)) throw error;
          }
          expect(accepted !== undefined).toBe(within(override, ceiling));
          if (accepted !== undefined) {
            const effective = effectiveLimits(ceiling, accepted);
            expect(effective.rateLimit.requestsPerSecond).toBeLessThanOrEqual(
              ceiling.rateLimit.requestsPerSecond,
            );
            expect(effective.rateLimit.burst).toBeLessThanOrEqual(ceiling.rateLimit.burst);
            if (ceiling.quota !== null)
              expect(effective.quota?.limit).toBeLessThanOrEqual(ceiling.quota.limit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the contract refuses numbers outside API Gateway bounds before the policy sees them', () => {
    for (const limits of [
      { rateLimit: { requestsPerSecond: 0, burst: 1 } },
      { rateLimit: { requestsPerSecond: 10_001, burst: 1 } },
      { rateLimit: { requestsPerSecond: 1.5, burst: 1 } },
      { quota: { limit: 0, period: 'DAY' } },
      { quota: { limit: 5, period: 'YEAR' } },
      { rateLimit: { requestsPerSecond: 1, burst: 1, extra: 1 } },
    ]) {
      expect(createTokenRequestSchema.safeParse({ ...base, limits }).success, JSON.stringify(limits)).toBe(
        false,
      );
    }
  });

  it('records the limits in token.created; none when the token has the type limits', async () => {
    const { deps, repository } = setup();
    const limited = await createToken(deps, alice, {
      ...base,
      type: 'metered',
      limits: { quota: { limit: 20, period: 'DAY' } },
    });
    const plain = await createToken(deps, alice, { ...base, type: 'metered' });
    const created = repository.auditLog.all().filter((event) => event.action === 'token.created');
    expect(created.find((event) => event.tokenId === limited.token.id)?.details).toEqual({
      limits: '{"rateLimit":null,"quota":{"limit":20,"period":"DAY"}}',
    });
    expect(created.find((event) => event.tokenId === plain.token.id)?.details).toEqual({});
    expect(limited.token.limits).toEqual({ rateLimit: null, quota: { limit: 20, period: 'DAY' } });
  });
});

describe('budgets', () => {
  it('an override class no token has yet takes a slot of limitClassBudget; a known one or a type class takes none', async () => {
    const { deps, repository } = setup();
    const five = { rateLimit: { requestsPerSecond: 5, burst: 5 } };
    await createToken(deps, alice, { ...base, limits: five });
    await createToken(deps, alice, { ...base, limits: five });
    await createToken(deps, alice, { ...base, limits: { rateLimit: { requestsPerSecond: 50, burst: 100 } } });
    expect([...repository.limitClasses]).toEqual(['limit-r5-b5-qnone']);
    await createToken(deps, admin, { ...base, limits: { rateLimit: { requestsPerSecond: 4, burst: 4 } } });
    expect(repository.limitClasses.size).toBe(2);
    const full = createToken(deps, admin, {
      ...base,
      limits: { rateLimit: { requestsPerSecond: 3, burst: 3 } },
    });
    await expect(full).rejects.toBeInstanceOf(LimitExceededError);
    // Nothing was written for the refused token.
    expect(repository.tokens.size).toBe(4);
  });

  it('usageKeyBudget counts the active tokens of the whole deployment', async () => {
    const { deps } = setup();
    const callers = [
      alice,
      admin,
      alice,
      testCaller({ accountId: 'acct-9' }),
      testCaller({ accountId: 'acct-7' }),
    ];
    for (const caller of callers) await createToken(deps, caller, base);
    await expect(createToken(deps, testCaller({ accountId: 'acct-8' }), base)).rejects.toBeInstanceOf(
      LimitExceededError,
    );
  });
});

describe('edit: who may set what', () => {
  const limitedToken = async (context: ReturnType<typeof setup>) =>
    (
      await createToken(context.deps, alice, {
        ...base,
        type: 'metered',
        limits: { rateLimit: { requestsPerSecond: 5, burst: 10 }, quota: { limit: 100, period: 'DAY' } },
      })
    ).token;

  it('the owner lowers (absent fields stay); the change is audited as compact JSON', async () => {
    const context = setup();
    const token = await limitedToken(context);
    const next = await updateToken(context.deps, alice, token.id, {
      limits: { quota: { limit: 50, period: 'DAY' } },
    });
    expect(next.limits).toEqual({
      rateLimit: { requestsPerSecond: 5, burst: 10 },
      quota: { limit: 50, period: 'DAY' },
    });
    const updated = context.repository.auditLog.all().find((event) => event.action === 'token.updated');
    expect(updated?.changes).toEqual([
      {
        field: 'limits',
        from: '{"rateLimit":{"requestsPerSecond":5,"burst":10},"quota":{"limit":100,"period":"DAY"}}',
        to: '{"rateLimit":{"requestsPerSecond":5,"burst":10},"quota":{"limit":50,"period":"DAY"}}',
      },
    ]);
  });

  it('403 for a non-admin who raises any number, drops the quota or clears an override below the type', async () => {
    const context = setup();
    const token = await limitedToken(context);
    const refused = async (limits: Parameters<typeof updateToken>[3]['limits'], paths: string[]) => {
      const attempt = updateToken(context.deps, alice, token.id, { limits });
      await expect(attempt).rejects.toBeInstanceOf(ForbiddenError);
      const error = await attempt.catch((caught: unknown) => caught);
      expect((error as ForbiddenError).details?.map((detail) => detail.path)).toEqual(paths);
    };
    await refused({ rateLimit: { requestsPerSecond: 6, burst: 10 } }, ['limits.rateLimit.requestsPerSecond']);
    await refused({ rateLimit: { requestsPerSecond: 5, burst: 11 } }, ['limits.rateLimit.burst']);
    await refused({ quota: { limit: 101, period: 'DAY' } }, ['limits.quota.limit']);
    // null = back to the type's 10/20 and 1000 a day: raising.
    await refused({ rateLimit: null, quota: null }, [
      'limits.rateLimit.requestsPerSecond',
      'limits.rateLimit.burst',
      'limits.quota.limit',
    ]);
    expect((await context.repository.get(token.id))?.version).toBe(1);
  });

  it('an admin sets anything up to the type ceiling and clears the override; above the ceiling is a 400 for anyone', async () => {
    const context = setup();
    const token = await limitedToken(context);
    const raised = await updateToken(context.deps, admin, token.id, {
      limits: { rateLimit: { requestsPerSecond: 10, burst: 20 } },
    });
    expect(raised.limits?.rateLimit).toEqual({ requestsPerSecond: 10, burst: 20 });
    await expect(
      updateToken(context.deps, admin, token.id, {
        limits: { rateLimit: { requestsPerSecond: 11, burst: 20 } },
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    const cleared = await updateToken(context.deps, admin, token.id, {
      limits: { rateLimit: null, quota: null },
    });
    expect(cleared.limits).toBeNull();
  });

  it('clearing an override equal to the type ceiling raises nothing: the owner may', () => {
    const ceiling = { rateLimit: { requestsPerSecond: 50, burst: 100 }, quota: null };
    expect(
      resolveLimitsUpdate(SETTINGS, { type: 'standard', limits: ceiling }, { rateLimit: null }, 'member'),
    ).toBeNull();
  });

  it('asking for what the token has is no change and checks nothing, even against a lowered ceiling', () => {
    const current = {
      type: 'metered',
      limits: { rateLimit: { requestsPerSecond: 99, burst: 99 }, quota: null },
    };
    expect(
      resolveLimitsUpdate(SETTINGS, current, { rateLimit: { requestsPerSecond: 99, burst: 99 } }, 'member'),
    ).toBe(current.limits);
    expect(() =>
      resolveLimitsUpdate(SETTINGS, { type: 'gone', limits: null }, { quota: null }, 'admin'),
    ).not.toThrow();
    const gone = (() => {
      try {
        return resolveLimitsUpdate(
          SETTINGS,
          { type: 'gone', limits: null },
          { quota: { limit: 1, period: 'DAY' } },
          'admin',
        );
      } catch (error) {
        return error;
      }
    })();
    expect(gone).toBeInstanceOf(ValidationError);
    expect((gone as ValidationError).details?.[0]?.message).toMatch(/"gone" is no longer configured/);
  });
});

describe('the usage key is put in place right after the write (best effort)', () => {
  it('create: ensurePlan for the class, then assignKey of usage-<id>', async () => {
    const { deps, usagePlans } = setup();
    const { token } = await createToken(deps, alice, {
      ...base,
      limits: { rateLimit: { requestsPerSecond: 5, burst: 5 } },
    });
    expect(usagePlans.calls).toEqual([
      'ensurePlan:limit-r5-b5-qnone',
      `assignKey:usage-${token.id}:plan-limit-r5-b5-qnone`,
    ]);
  });

  it('edit: called when the limit class changes, not for an edit of other fields', async () => {
    const { deps, usagePlans } = setup();
    const { token } = await createToken(deps, alice, base);
    usagePlans.calls.length = 0;
    await updateToken(deps, alice, token.id, { name: 'renamed' });
    expect(usagePlans.calls).toEqual([]);
    await updateToken(deps, alice, token.id, { limits: { rateLimit: { requestsPerSecond: 2, burst: 2 } } });
    expect(usagePlans.calls).toEqual([
      'ensurePlan:limit-r2-b2-qnone',
      `assignKey:usage-${token.id}:plan-limit-r2-b2-qnone`,
    ]);
  });

  it('a gateway failure does not fail the request: it is reported and the token is written', async () => {
    const { deps, usagePlans, syncErrors, repository } = setup();
    usagePlans.failure = Object.assign(new Error('Too Many Requests'), { name: 'TooManyRequestsException' });
    const { token } = await createToken(deps, alice, base);
    expect(await repository.get(token.id)).toBeDefined();
    expect(syncErrors).toEqual([{ error: usagePlans.failure, tokenId: token.id }]);
    const edited = await updateToken(deps, alice, token.id, {
      limits: { rateLimit: { requestsPerSecond: 1, burst: 1 } },
    });
    expect(edited.version).toBe(2);
    expect(syncErrors).toHaveLength(2);
  });
});

describe("the token's detail", () => {
  const usage: QuotaUsage = {
    used: 7,
    limit: 20,
    remaining: 13,
    period: 'DAY',
    periodStart: '2025-03-05T00:00:00.000Z',
    resetsAt: '2025-03-06T00:00:00.000Z',
  };

  it("effective limits with their source, and the reader's usage for the token's usage key", async () => {
    const { deps } = setup();
    const { token } = await createToken(deps, alice, {
      ...base,
      type: 'metered',
      limits: { quota: { limit: 20, period: 'DAY' } },
    });
    const asked: string[] = [];
    const reader: UsageReader = {
      quotaUsage: async (keyValue, limits) => {
        asked.push(`${keyValue}:${JSON.stringify(limits)}`);
        return usage;
      },
    };
    const detail = await detailOf(token, reader);
    expect(detail.limits).toEqual({
      rateLimit: { requestsPerSecond: 10, burst: 20 },
      quota: { limit: 20, period: 'DAY' },
      source: 'token',
    });
    expect(detail.usage).toEqual(usage);
    expect(asked).toEqual([
      `usage-${token.id}:{"rateLimit":{"requestsPerSecond":10,"burst":20},"quota":{"limit":20,"period":"DAY"}}`,
    ]);
  });

  it('usage null without a reader, when the reader knows nothing, and when it fails (reported, never thrown)', async () => {
    const { deps } = setup();
    const { token } = await createToken(deps, alice, { ...base, type: 'metered' });
    expect((await detailOf(token)).usage).toBeNull();
    expect((await detailOf(token, { quotaUsage: async () => undefined })).usage).toBeNull();
    const reported: unknown[] = [];
    const failure = new Error('GetUsage throttled');
    const detail = await detailOf(token, { quotaUsage: async () => Promise.reject(failure) }, (error) =>
      reported.push(error),
    );
    expect(detail.usage).toBeNull();
    expect(detail.limits?.source).toBe('type');
    expect(reported).toEqual([failure]);
  });

  it('no quota or not active: the reader is not asked', async () => {
    const { deps } = setup();
    const { token } = await createToken(deps, alice, base);
    let asked = 0;
    const reader: UsageReader = { quotaUsage: async () => void asked++ };
    expect((await detailOf(token, reader)).limits).toEqual({
      rateLimit: { requestsPerSecond: 50, burst: 100 },
      quota: null,
      source: 'type',
    });
    const metered = (await createToken(deps, alice, { ...base, type: 'metered' })).token;
    await detailOf({ ...metered, state: 'revoked' }, reader);
    expect(asked).toBe(0);
  });
});

describe('a type lowered in cdk.json lowers its tokens, overrides included', () => {
  const lowered = {
    rateLimit: { requestsPerSecond: 5, burst: 8 },
    quota: { limit: 100, period: 'DAY' as const },
  };

  it('each number is the smaller of the override and the new ceiling', () => {
    const override = {
      rateLimit: { requestsPerSecond: 20, burst: 4 },
      quota: { limit: 500, period: 'DAY' as const },
    };
    expect(effectiveLimits(lowered, override)).toEqual({
      rateLimit: { requestsPerSecond: 5, burst: 4 },
      quota: { limit: 100, period: 'DAY' },
    });
  });

  it("a quota over another period than the type's gives way to the type's; a type without one keeps the token's", () => {
    const weekly = { rateLimit: null, quota: { limit: 50, period: 'WEEK' as const } };
    expect(effectiveLimits(lowered, weekly).quota).toEqual({ limit: 100, period: 'DAY' });
    expect(effectiveLimits({ ...lowered, quota: null }, weekly).quota).toEqual({ limit: 50, period: 'WEEK' });
  });
});
