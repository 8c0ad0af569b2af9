import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import type { UsagePlanGateway } from '../../../lambdas/core/ports.js';
import { reconcileUsageKeys } from '../../../lambdas/core/usage-keys/reconcile-usage-keys.js';
import { tokenRecord } from '../management/records.js';

// Giving every active token its usage key (after a local restart, or `npm run sync:usage-keys`
// after an upgrade): each token gets its key in its type's plan; one that cannot is reported and
// counted, and the others still get theirs.

class RecordingPlans implements UsagePlanGateway {
  readonly assigned = new Map<string, string>();
  async ensurePlan(limitClass: string) {
    return `plan-${limitClass}`;
  }
  async assignKey(keyValue: string, _tokenId: string, planId: string) {
    this.assigned.set(keyValue, planId);
  }
  async deleteKey(keyValue: string) {
    this.assigned.delete(keyValue);
  }
}

async function* each(tokens: readonly TokenRecord[]): AsyncIterable<TokenRecord> {
  yield* tokens;
}

describe('reconcileUsageKeys', () => {
  it('gives every active token its key in its plan; a token of an unknown type is reported, the rest go on', async () => {
    const plans = new RecordingPlans();
    const tokens = [tokenRecord(), tokenRecord({ type: 'retired' }), tokenRecord({ type: 'restricted' })];
    const failed: string[] = [];
    const outcome = await reconcileUsageKeys(
      { plans, settings: DEFAULT_POLICY_SETTINGS },
      each(tokens),
      (tokenId) => failed.push(tokenId),
    );
    expect(outcome).toEqual({ assigned: 2, failed: 1 });
    expect(failed).toEqual([tokens[1]?.id]);
    expect(Object.fromEntries(plans.assigned)).toEqual({
      [`usage-${tokens[0]?.id}`]: 'plan-type-standard',
      [`usage-${tokens[2]?.id}`]: 'plan-type-restricted',
    });
  });
});
