import type { TokenRecord } from '../model.js';
import type { UsagePlanGateway } from '../ports.js';
import { usageKeyValue } from '../rate-limits.js';
import { type PolicySettings, tokenTypeNamed } from '../settings.js';
import { usageClassOfToken } from '../token-limits.js';

// Keeps a token's usage key (docs/rate-limits.md) in step with the token: the API Gateway API key
// whose value is usageKeyValue(token id), in the usage plan of the token's limit class while the
// token is active, gone once it is revoked or deleted. Called by the usage-key stream consumer
// (lambdas/usage-keys/, the guarantee: at least once, per token in order) and synchronously by the
// create and edit routes (best effort, so a new token usually works before its 201 returns). Every
// gateway call is idempotent, so a redelivered or repeated change does the same thing again
// harmlessly.

/** A token item's change, as the table's stream carries it (undefined: no item). */
export interface UsageKeyChange {
  readonly before: TokenRecord | undefined;
  readonly after: TokenRecord | undefined;
}

export interface SyncUsageKeyDeps {
  readonly plans: UsagePlanGateway;
  readonly settings: Pick<PolicySettings, 'tokenTypes'>;
  /**
   * Callers outside the stream (the create and edit routes) pass the token's current read: after
   * assigning the key it is read again, and the key deleted if the token is no longer active. A
   * revocation that lands between the route's write and its sync would otherwise leave a key
   * behind (the stream consumer's delete may run before the route's create). The stream consumer
   * needs none: it applies a token's changes in order.
   */
  readonly readToken?: (tokenId: string) => Promise<TokenRecord | undefined>;
}

type UsageKeySync = 'assigned' | 'deleted' | 'unchanged';

/** A token whose type is no longer configured: its limits cannot be known (a configuration error). */
export class UnknownTokenTypeError extends Error {
  constructor(
    readonly tokenId: string,
    readonly typeName: string,
  ) {
    super(`Token ${tokenId} has type ${typeName}, which the policy does not configure`);
    this.name = 'UnknownTokenTypeError';
  }
}

/** The limit class (usage plan) of an active token, and the limits of that class. */
function usageClassOf(
  settings: Pick<PolicySettings, 'tokenTypes'>,
  token: Pick<TokenRecord, 'id' | 'type' | 'limits'>,
) {
  const usageClass = usageClassOfToken(settings, token);
  if (usageClass === undefined) throw new UnknownTokenTypeError(token.id, token.type);
  return usageClass;
}

/**
 * after active → ensurePlan + assignKey; after revoked or undefined (deleted) → deleteKey; else
 * nothing. See decideUsageKeySync for exactly when a change needs no gateway call.
 */
export async function syncUsageKey(deps: SyncUsageKeyDeps, change: UsageKeyChange): Promise<UsageKeySync> {
  const token = change.after ?? change.before;
  if (token === undefined) return 'unchanged';
  const keyValue = usageKeyValue(token.id);
  const after = change.after;
  if (after === undefined || after.state === 'revoked') {
    if (change.before?.state === 'revoked' && after !== undefined) return 'unchanged';
    await deps.plans.deleteKey(keyValue);
    return 'deleted';
  }
  const { limitClass, limits } = usageClassOf(deps.settings, after);
  const before = change.before;
  // Only the authorizer's lastUsedAt writes leave the version alone: those change nothing here. An
  // edit or rotation (a new version) syncs again, idempotently, which also gives a token created
  // before usage keys existed its key (docs/rate-limits.md, "Upgrading").
  if (
    before !== undefined &&
    before.state === 'active' &&
    before.version === after.version &&
    tokenTypeNamed(deps.settings, before.type) !== undefined &&
    usageClassOf(deps.settings, before).limitClass === limitClass
  ) {
    return 'unchanged';
  }
  const planId = await deps.plans.ensurePlan(limitClass, limits);
  await deps.plans.assignKey(keyValue, after.id, planId);
  if (deps.readToken !== undefined) {
    const current = await deps.readToken(after.id);
    if (current === undefined || current.state !== 'active') {
      await deps.plans.deleteKey(keyValue);
      return 'deleted';
    }
  }
  return 'assigned';
}
