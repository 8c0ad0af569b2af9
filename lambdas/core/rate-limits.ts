// Per-token rate limits and quotas (docs/rate-limits.md): the domain's types and rules, without zod
// and without AWS. A token type in the policy carries a ceiling (rateLimit, optional quota); a token
// may carry a lower override. What enforces them is the gateway: on REST APIs an API Gateway usage
// plan per limit class, with one API key per token (its value from usageKeyValue, never the secret,
// the same across rotations so a rotation does not reset a quota); locally the local gateway's
// emulation of the same.

export const QUOTA_PERIODS = ['DAY', 'WEEK', 'MONTH'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

/** API Gateway's throttle: a steady rate and a bucket of `burst` requests. */
export interface RateLimit {
  readonly requestsPerSecond: number;
  readonly burst: number;
}

/** At most `limit` requests per calendar period (UTC; weeks start on Monday, as API Gateway's). */
export interface Quota {
  readonly limit: number;
  readonly period: QuotaPeriod;
}

/** The limits that apply to a token: its type's, or its own lower override. */
export interface TokenLimits {
  readonly rateLimit: RateLimit;
  /** null: no quota. */
  readonly quota: Quota | null;
}

/** A token's own limits, lower than its type's (null fields: the type's). */
export interface TokenLimitsOverride {
  readonly rateLimit: RateLimit | null;
  readonly quota: Quota | null;
}

/** A token type's rate limit when its configuration gives none. */
export const DEFAULT_RATE_LIMIT: RateLimit = { requestsPerSecond: 50, burst: 100 };

/** Bounds of each number (API Gateway's own: a throttle rate is a double, a burst and a quota an integer). */
export const RATE_LIMIT_BOUNDS = {
  requestsPerSecond: { min: 1, max: 10_000 },
  burst: { min: 1, max: 5_000 },
  quotaLimit: { min: 1, max: 1_000_000_000 },
} as const;

/**
 * The value of the API Gateway API key that stands for a token at the gateway: derived from the
 * token's public id, so the authorizer returns it (as `usageIdentifierKey`) without another read
 * and it survives rotation. It grants nothing by itself: the usage plans only cover stages whose
 * API takes its key from the authorizer (apiKeySource AUTHORIZER), never from a client header.
 * 20–128 characters, as API Gateway requires.
 */
export function usageKeyValue(tokenId: string): string {
  return `usage-${tokenId}`;
}

/**
 * The limits a token has: its override where it has one, else its type's ceiling, and never above
 * the ceiling: an operator who lowers a type in cdk.json lowers every token of it, overrides
 * included (each number is the smaller of the two; a quota over another period than the type's
 * gives way to the type's).
 */
export function effectiveLimits(ceiling: TokenLimits, override: TokenLimitsOverride | null): TokenLimits {
  const ownRate = override?.rateLimit ?? null;
  const ownQuota = override?.quota ?? null;
  return {
    rateLimit:
      ownRate === null
        ? ceiling.rateLimit
        : {
            requestsPerSecond: Math.min(ownRate.requestsPerSecond, ceiling.rateLimit.requestsPerSecond),
            burst: Math.min(ownRate.burst, ceiling.rateLimit.burst),
          },
    quota:
      ownQuota === null
        ? ceiling.quota
        : ceiling.quota === null
          ? ownQuota
          : ownQuota.period === ceiling.quota.period
            ? { limit: Math.min(ownQuota.limit, ceiling.quota.limit), period: ownQuota.period }
            : ceiling.quota,
  };
}

/**
 * Why `limits` are not within `ceiling` (empty when they are): each number at most the ceiling's,
 * a quota over the same period as the ceiling's quota (a type without a quota accepts any).
 * Messages name the field as a request body does.
 */
export function limitsAboveCeiling(limits: TokenLimitsOverride, ceiling: TokenLimits): string[] {
  const problems: string[] = [];
  if (limits.rateLimit !== null) {
    if (limits.rateLimit.requestsPerSecond > ceiling.rateLimit.requestsPerSecond) {
      problems.push(
        `rateLimit.requestsPerSecond ${limits.rateLimit.requestsPerSecond} is above the type's ${ceiling.rateLimit.requestsPerSecond}`,
      );
    }
    if (limits.rateLimit.burst > ceiling.rateLimit.burst) {
      problems.push(
        `rateLimit.burst ${limits.rateLimit.burst} is above the type's ${ceiling.rateLimit.burst}`,
      );
    }
  }
  if (limits.quota !== null && ceiling.quota !== null) {
    if (limits.quota.period !== ceiling.quota.period) {
      problems.push(`quota.period must be the type's (${ceiling.quota.period})`);
    } else if (limits.quota.limit > ceiling.quota.limit) {
      problems.push(`quota.limit ${limits.quota.limit} is above the type's ${ceiling.quota.limit}`);
    }
  }
  return problems;
}

function sameLimits(a: TokenLimits, b: TokenLimits): boolean {
  return (
    a.rateLimit.requestsPerSecond === b.rateLimit.requestsPerSecond &&
    a.rateLimit.burst === b.rateLimit.burst &&
    (a.quota === null
      ? b.quota === null
      : b.quota !== null && a.quota.limit === b.quota.limit && a.quota.period === b.quota.period)
  );
}

/**
 * The limit class of a token: which usage plan its key belongs to. Tokens on their type's limits
 * share the type's plan (`type-<name>`); a token with an override joins the plan of exactly its
 * numbers (`limit-r<rps>-b<burst>-q<limit>-<period>` or `…-qnone`), shared by every token with the
 * same numbers whatever its type. A class id is a valid part of an API Gateway usage plan name.
 */
export function limitClassOf(typeName: string, ceiling: TokenLimits, effective: TokenLimits): string {
  if (sameLimits(ceiling, effective)) return `type-${typeName}`;
  const { requestsPerSecond, burst } = effective.rateLimit;
  const quota =
    effective.quota === null ? 'qnone' : `q${effective.quota.limit}-${effective.quota.period.toLowerCase()}`;
  return `limit-r${requestsPerSecond}-b${burst}-${quota}`;
}

/** The start of the quota period that holds `at` (UTC; weeks start on Monday). */
export function quotaPeriodStart(period: QuotaPeriod, at: Date): Date {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  if (period === 'DAY') return day;
  if (period === 'WEEK') {
    const sinceMonday = (day.getUTCDay() + 6) % 7;
    return new Date(day.getTime() - sinceMonday * 86_400_000);
  }
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

/** The start of the next quota period after the one that holds `at`. */
export function nextQuotaPeriodStart(period: QuotaPeriod, at: Date): Date {
  const start = quotaPeriodStart(period, at);
  if (period === 'DAY') return new Date(start.getTime() + 86_400_000);
  if (period === 'WEEK') return new Date(start.getTime() + 7 * 86_400_000);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

/** A token's usage of its quota in the current period, as the token's detail shows it. */
export interface QuotaUsage {
  readonly used: number;
  readonly limit: number;
  readonly remaining: number;
  readonly period: QuotaPeriod;
  /** ISO 8601, UTC. */
  readonly periodStart: string;
  readonly resetsAt: string;
}
