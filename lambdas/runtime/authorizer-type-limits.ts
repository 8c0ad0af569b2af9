import {
  DEFAULT_RATE_LIMIT,
  QUOTA_PERIODS,
  type Quota,
  type RateLimit,
  type TokenLimits,
} from '../core/rate-limits.js';
import { ENV } from './env.js';

// The token types' limits as the token authorizer needs them for the strict mode of HTTP APIs
// (lambdas/core/rate-window.ts): read from POLICY_SETTINGS by hand, like authorizer-settings.ts,
// so that zod stays out of the authorizer's bundle. The stack writes POLICY_SETTINGS from settings
// its zod schema validated at synth, so this is a guard, not the validation: a broken entry fails
// the cold start with a message naming it.

/**
 * What a token of a type this deployment no longer configures gets in strict mode: the schema's
 * default rate limit and no quota (its token still verifies; the management API keeps it editable).
 */
export const UNKNOWN_TYPE_LIMITS: TokenLimits = { rateLimit: DEFAULT_RATE_LIMIT, quota: null };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isPositiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;

function rateLimitOf(name: string, raw: unknown, problems: string[]): RateLimit {
  if (raw === undefined) return DEFAULT_RATE_LIMIT;
  if (isRecord(raw) && isPositiveInteger(raw.requestsPerSecond) && isPositiveInteger(raw.burst)) {
    return { requestsPerSecond: raw.requestsPerSecond, burst: raw.burst };
  }
  problems.push(`tokenTypes.${name}.rateLimit must be {requestsPerSecond, burst}, positive integers`);
  return DEFAULT_RATE_LIMIT;
}

function quotaOf(name: string, raw: unknown, problems: string[]): Quota | null {
  if (raw === undefined) return null;
  if (
    isRecord(raw) &&
    isPositiveInteger(raw.limit) &&
    (QUOTA_PERIODS as readonly unknown[]).includes(raw.period)
  ) {
    return { limit: raw.limit, period: raw.period as Quota['period'] };
  }
  problems.push(`tokenTypes.${name}.quota must be {limit, period: ${QUOTA_PERIODS.join('|')}}`);
  return null;
}

/** Each configured type's ceiling (typeLimitsOf), from parsed POLICY_SETTINGS; throws listing every problem. */
export function parseTypeLimits(
  input: unknown,
  source: string = ENV.policySettings,
): ReadonlyMap<string, TokenLimits> {
  const types = isRecord(input) ? input.tokenTypes : undefined;
  const limits = new Map<string, TokenLimits>();
  if (types === undefined) return limits;
  const problems: string[] = [];
  if (!isRecord(types)) problems.push('tokenTypes must be an object');
  else {
    for (const [name, type] of Object.entries(types)) {
      if (!isRecord(type)) {
        problems.push(`tokenTypes.${name} must be an object`);
        continue;
      }
      limits.set(name, {
        rateLimit: rateLimitOf(name, type.rateLimit, problems),
        quota: quotaOf(name, type.quota, problems),
      });
    }
  }
  if (problems.length > 0) {
    throw new Error(`Invalid ${source}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
  return limits;
}
