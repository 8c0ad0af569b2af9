import { statusOf, type TokenDetailView, type TokenRecord, toTokenView } from './model.js';
import type { Clock, UsageReader } from './ports.js';
import { usageKeyValue } from './rate-limits.js';
import type { PolicySettings } from './settings.js';
import { tokenLimitsView } from './token-limits.js';

// One token as its detail shows it (GET /tokens/{id}, and the create, edit and rotate answers): the
// listing's fields plus the limits that apply to it and how much of its quota it has used. The
// usage is a nicety: when it cannot be read (no reader configured, the reader fails or knows
// nothing), the detail says null instead of failing.

export interface TokenDetailDeps {
  readonly settings: Pick<PolicySettings, 'tokenTypes'>;
  readonly clock: Clock;
  /** Where quota usage comes from (API Gateway GetUsage, the local emulator); none: usage is null. */
  readonly usage?: UsageReader | undefined;
  /** Told when the reader fails; the detail then shows usage null. */
  readonly onUsageError?: ((error: unknown, tokenId: string) => void) | undefined;
}

export async function tokenDetail(deps: TokenDetailDeps, token: TokenRecord): Promise<TokenDetailView> {
  const now = deps.clock.now();
  const limits = tokenLimitsView(deps.settings, token);
  let usage: TokenDetailView['usage'] = null;
  // Only a live token with a quota has a usage key worth asking about.
  if (deps.usage !== undefined && limits?.quota != null && statusOf(token, now) === 'active') {
    const applied = { rateLimit: limits.rateLimit, quota: limits.quota };
    try {
      usage = (await deps.usage.quotaUsage(usageKeyValue(token.id), applied, now)) ?? null;
    } catch (error) {
      deps.onUsageError?.(error, token.id);
    }
  }
  return { ...toTokenView(token, now), limits, usage };
}
