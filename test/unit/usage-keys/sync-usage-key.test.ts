import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import type { UsagePlanGateway } from '../../../lambdas/core/ports.js';
import type { TokenLimits } from '../../../lambdas/core/rate-limits.js';
import { syncUsageKey, UnknownTokenTypeError } from '../../../lambdas/core/usage-keys/sync-usage-key.js';
import { tokenRecord } from '../management/records.js';

// What syncUsageKey asks of the gateway for each kind of token change.

class RecordingGateway implements UsagePlanGateway {
  readonly calls: string[] = [];
  async ensurePlan(limitClass: string, _limits: TokenLimits) {
    this.calls.push(`ensurePlan ${limitClass}`);
    return `plan-of-${limitClass}`;
  }
  async assignKey(keyValue: string, _tokenId: string, planId: string) {
    this.calls.push(`assignKey ${keyValue} ${planId}`);
  }
  async deleteKey(keyValue: string) {
    this.calls.push(`deleteKey ${keyValue}`);
  }
}

const settings = { tokenTypes: DEFAULT_POLICY_SETTINGS.tokenTypes };
const LOWER = { rateLimit: { requestsPerSecond: 5, burst: 10 }, quota: null };

function run(
  before: TokenRecord | undefined,
  after: TokenRecord | undefined,
  readToken?: () => Promise<TokenRecord | undefined>,
) {
  const plans = new RecordingGateway();
  const result = syncUsageKey(
    { plans, settings, ...(readToken === undefined ? {} : { readToken }) },
    { before, after },
  );
  return { plans, result };
}

describe('syncUsageKey', () => {
  const token = tokenRecord({ id: 'tok_1' });

  it("puts a new token's key in its type's plan", async () => {
    const { plans, result } = run(undefined, token);
    await expect(result).resolves.toBe('assigned');
    expect(plans.calls).toEqual(['ensurePlan type-standard', 'assignKey usage-tok_1 plan-of-type-standard']);
  });

  it('moves the key to the plan of its own limits when they change', async () => {
    const { plans, result } = run(token, { ...token, limits: LOWER, version: 2 });
    await expect(result).resolves.toBe('assigned');
    expect(plans.calls).toEqual([
      'ensurePlan limit-r5-b10-qnone',
      'assignKey usage-tok_1 plan-of-limit-r5-b10-qnone',
    ]);
  });

  it('calls nothing for a lastUsedAt write (same version)', async () => {
    const { plans, result } = run(token, { ...token, lastUsedAt: new Date().toISOString() });
    await expect(result).resolves.toBe('unchanged');
    expect(plans.calls).toEqual([]);
  });

  it('deletes the key when the token is revoked or deleted, once', async () => {
    const gone: TokenRecord = { ...token, state: 'revoked', version: 2 };
    await expect(run(token, gone).result).resolves.toBe('deleted');
    await expect(run(gone, undefined).result).resolves.toBe('deleted');
    const again = run(gone, { ...gone, lastUsedAt: 'x' });
    await expect(again.result).resolves.toBe('unchanged');
    expect(again.plans.calls).toEqual([]);
  });

  it('deletes the key it just assigned when the token was revoked meanwhile (readToken)', async () => {
    const { plans, result } = run(undefined, token, async () => ({ ...token, state: 'revoked' }));
    await expect(result).resolves.toBe('deleted');
    expect(plans.calls.at(-1)).toBe('deleteKey usage-tok_1');
  });

  it('fails for a token of a type the policy no longer has (a configuration error, retried then DLQ)', async () => {
    await expect(run(undefined, { ...token, type: 'gone' }).result).rejects.toBeInstanceOf(
      UnknownTokenTypeError,
    );
  });
});
